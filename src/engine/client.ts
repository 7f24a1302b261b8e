import http from "node:http";
import { CredentialsMethod, FgaApiValidationError, OpenFgaClient } from "@openfga/sdk";
import { SpanKind } from "@opentelemetry/api";
import axios from "axios";
import { DomainError, InvalidInput, Unavailable } from "../domain/errors.js";
import { type Delta, type Tuple, tupleKey } from "../domain/tuples.js";
import { metrics } from "../metrics.js";
import { withSpan } from "../telemetry.js";
import { CheckCoalescer, type Pending } from "./coalesce.js";
import { HttpTimeout, JsonClient, type JsonResponse } from "./http.js";
import { Limiter } from "./limiter.js";

/** OpenFGA's limits (server defaults). */
export const MAX_TUPLES_PER_WRITE = 100;
export const MAX_BATCH_CHECK_ITEMS = 50;

export interface EngineOptions {
  apiUrl: string;
  apiToken?: string;
  storeId?: string;
  modelId?: string;
  /** Bound for one check; decisions fail closed past it. */
  timeoutMs: number;
  /** Bound for list/search calls, batch checks and writes. */
  searchTimeoutMs: number;
  /** Check units in flight at most (a BatchCheck of n items weighs n); default 32. */
  maxInFlight?: number;
  /** Check units that may wait for a slot; beyond them a call is refused (503). Default 256. */
  queueMax?: number;
  /** How long a call may wait for a slot (predicted or actual) before it is refused (503); default 2000. */
  queueWaitMs?: number;
}

export interface CheckItem {
  user: string;
  relation: string;
  object: string;
}

export interface BatchResult {
  allowed: boolean;
  error?: string;
  /**
   * The engine judged the item's input, not itself (its `input_error`: an
   * unknown type or relation, a malformed id, a condition's missing or
   * mistyped context): a deny, never worth a retry.
   */
  refused?: boolean;
}

/**
 * The one OpenFGA client. Store and model ids are pinned after bootstrap; the
 * current time is added to every check and list call so that conditioned
 * tuples (cooperation expiry) are evaluated at the moment of the request.
 * SDK retries are off: a decision must answer within its bound or fail closed.
 */
export class Engine {
  readonly client: OpenFgaClient;
  private readonly slow: OpenFgaClient;
  /** Check and BatchCheck go through this lean client, the rest through the SDK. */
  private readonly fast: JsonClient;
  readonly limiter: Limiter;
  readonly coalescer: CheckCoalescer<CheckItem>;
  storeId: string | undefined;
  modelId: string | undefined;
  /**
   * Set when a call found the engine away (down, timeout, 5xx), cleared by the
   * next answer. While set, the decision cache serves nothing: decisions fail
   * closed with the engine (R-G2), even where a cached answer is still fresh.
   */
  downSince: number | null = null;

  constructor(readonly opts: EngineOptions) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const make = (timeout: number) =>
      new OpenFgaClient(
        {
          apiUrl: opts.apiUrl,
          storeId: opts.storeId,
          authorizationModelId: opts.modelId,
          credentials: opts.apiToken
            ? { method: CredentialsMethod.ApiToken, config: { token: opts.apiToken } }
            : undefined,
          retryParams: { maxRetry: 0 },
        },
        axios.create({ timeout, httpAgent: agent }) as never,
      );
    this.fast = new JsonClient(opts.apiUrl, opts.apiToken);
    // A connection the engine closed may mean it is gone: serve nothing from
    // the cache until the next call answers (cleared by any success).
    this.fast.onConnectionLost = () => {
      this.downSince ??= Date.now();
    };
    this.limiter = new Limiter(opts.maxInFlight ?? 32, opts.queueMax ?? 256);
    // Coalesced checks: up to half the limiter per batch (OpenFGA runs a batch's items in parallel).
    this.coalescer = new CheckCoalescer(
      Math.max(1, Math.min(MAX_BATCH_CHECK_ITEMS, Math.floor(this.limiter.capacity / 2))),
      (item, at) => this.checkOne(item, at),
      (group) => this.postBatch("check_batched", group, this.opts.timeoutMs),
    );
    this.client = make(opts.timeoutMs);
    this.slow = make(opts.searchTimeoutMs);
    this.storeId = opts.storeId;
    this.modelId = opts.modelId;
  }

  private get queueWaitMs(): number {
    return this.opts.queueWaitMs ?? 2000;
  }

  pin(storeId: string, modelId: string): void {
    this.storeId = storeId;
    this.modelId = modelId;
    for (const c of [this.client, this.slow]) {
      c.storeId = storeId;
      c.authorizationModelId = modelId;
    }
  }

  /** The admin client (store/model management) with the long timeout. */
  get admin(): OpenFgaClient {
    return this.slow;
  }

  private ids() {
    if (!this.storeId || !this.modelId)
      throw Unavailable("engine-not-ready", "authorization model not loaded");
    return { storeId: this.storeId, authorizationModelId: this.modelId };
  }

  static now(): { current_time: string } {
    return { current_time: new Date().toISOString() };
  }

  /** Largest BatchCheck one call sends: a share of the limiter, so no request takes every slot. */
  get batchChunk(): number {
    return Math.max(1, Math.min(MAX_BATCH_CHECK_ITEMS, Math.floor(this.limiter.capacity / 4)));
  }

  /**
   * One decision. Concurrent checks are coalesced into BatchChecks (see
   * coalesce.ts); a check alone is a plain Check.
   */
  async check(item: CheckItem, at: Record<string, unknown> = Engine.now()): Promise<boolean> {
    this.ids();
    return this.coalescer.check(item, at);
  }

  private async checkOne(item: CheckItem, at: Record<string, unknown>): Promise<boolean> {
    const ids = this.ids();
    const timeout = this.opts.timeoutMs;
    return this.observe("check", { "authz.relation": item.relation, "authz.object": item.object }, () =>
      this.limiter.run(1, this.queueWaitMs, async () => {
        const res = await this.post(
          `/stores/${ids.storeId}/check`,
          { tuple_key: item, context: at, authorization_model_id: ids.authorizationModelId },
          timeout,
        );
        return (res as { allowed?: boolean }).allowed === true;
      }),
    );
  }

  /**
   * Server-side BatchCheck in chunks of `batchChunk` items, each chunk through
   * the limiter (weight = its items). An item that errors is a deny with its
   * error; the caller may retry it alone.
   */
  async batchCheck(items: CheckItem[], at: Record<string, unknown> = Engine.now()): Promise<BatchResult[]> {
    const out: BatchResult[] = new Array(items.length);
    const size = this.batchChunk;
    const chunks: [number, CheckItem[]][] = [];
    for (let start = 0; start < items.length; start += size)
      chunks.push([start, items.slice(start, start + size)]);
    // At most two chunks of one request in flight: a big batch queues behind itself, not in front of everyone.
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const [start, slice] = chunks[next++]!;
        const rs = await this.postBatch(
          "batch_check",
          slice.map((item) => ({ item, at })),
          this.opts.searchTimeoutMs,
        );
        rs.forEach((r, i) => {
          out[start + i] = r;
        });
      }
    };
    await Promise.all([worker(), worker()]);
    return out;
  }

  /** One BatchCheck request (each item with its own context), through the limiter. */
  private async postBatch(
    operation: string,
    entries: Pending<CheckItem>[],
    timeoutMs: number,
  ): Promise<BatchResult[]> {
    const ids = this.ids();
    const res = (await this.observe(operation, { "authz.items": entries.length }, () =>
      this.limiter.run(entries.length, this.queueWaitMs, () =>
        this.post(
          `/stores/${ids.storeId}/batch-check`,
          {
            checks: entries.map((e, i) => ({ tuple_key: e.item, context: e.at, correlation_id: String(i) })),
            authorization_model_id: ids.authorizationModelId,
          },
          timeoutMs,
        ),
      ),
    )) as {
      result?: Record<string, { allowed?: boolean; error?: { message?: string; input_error?: string } }>;
    };
    const out: BatchResult[] = entries.map(() => ({ allowed: false, error: "no answer from engine" }));
    for (const [id, r] of Object.entries(res.result ?? {})) {
      const idx = Number(id);
      if (!(Number.isInteger(idx) && idx >= 0 && idx < entries.length)) continue;
      out[idx] = r.error
        ? {
            allowed: false,
            error: r.error.message || "engine error",
            ...(r.error.input_error ? { refused: true } : {}),
          }
        : { allowed: r.allowed === true };
    }
    return out;
  }

  /** POST to the engine on the lean client; a 4xx is refused input, anything else is Unavailable. */
  private async post(path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    let res: JsonResponse;
    try {
      res = await this.fast.post(path, body, timeoutMs);
    } catch (err) {
      const e = Unavailable("engine-unavailable", "the authorization engine did not answer");
      (e as Error & { cause?: unknown }).cause = err instanceof HttpTimeout ? err.message : String(err);
      throw e;
    }
    if (res.status >= 200 && res.status < 300) return res.body;
    const msg = (res.body as { message?: string } | undefined)?.message;
    if (res.status === 400 || res.status === 422) {
      throw InvalidInput("engine-validation", msg ?? "the engine refused the request");
    }
    const e = Unavailable("engine-unavailable", "the authorization engine did not answer");
    (e as Error & { cause?: unknown }).cause = `HTTP ${res.status}: ${msg ?? ""}`;
    throw e;
  }

  async listObjects(user: string, relation: string, type: string, at = Engine.now()): Promise<string[]> {
    const ids = this.ids();
    return this.observe("list_objects", { "authz.relation": relation, "authz.type": type }, async () => {
      try {
        const res = await this.slow.listObjects({ user, relation, type, context: at }, ids);
        return res.objects ?? [];
      } catch (err) {
        throw engineError(err);
      }
    });
  }

  async listUsers(
    object: { type: string; id: string },
    relation: string,
    at = Engine.now(),
    userType = "user",
  ): Promise<string[]> {
    const ids = this.ids();
    return this.observe("list_users", { "authz.relation": relation, "authz.type": object.type }, async () => {
      try {
        const res = await this.slow.listUsers(
          { object, relation, user_filters: [{ type: userType }], context: at },
          ids,
        );
        return (res.users ?? []).flatMap((u) => (u.object ? [u.object.id] : []));
      } catch (err) {
        throw engineError(err);
      }
    });
  }

  /**
   * Apply a delta. Each request holds at most 100 tuples and is transactional;
   * a key deleted and written in the same delta (a changed condition) is
   * deleted in an earlier request than it is written. Writes ignore duplicates
   * and deletes ignore missing tuples, so replays (reconcile, retries) are safe.
   * Returns how many requests succeeded, so a caller can compensate.
   */
  async write(delta: Delta): Promise<void> {
    const ids = this.ids();
    const writeKeys = new Set(delta.writes.map(tupleKey));
    const first = delta.deletes.filter((t) => writeKeys.has(tupleKey(t)));
    const rest = delta.deletes.filter((t) => !writeKeys.has(tupleKey(t)));
    const batches: { writes: Tuple[]; deletes: Tuple[] }[] = [];
    for (let i = 0; i < first.length; i += MAX_TUPLES_PER_WRITE) {
      batches.push({ writes: [], deletes: first.slice(i, i + MAX_TUPLES_PER_WRITE) });
    }
    const ops: { kind: "w" | "d"; t: Tuple }[] = [
      ...rest.map((t) => ({ kind: "d" as const, t })),
      ...delta.writes.map((t) => ({ kind: "w" as const, t })),
    ];
    for (let i = 0; i < ops.length; i += MAX_TUPLES_PER_WRITE) {
      const slice = ops.slice(i, i + MAX_TUPLES_PER_WRITE);
      batches.push({
        writes: slice.filter((o) => o.kind === "w").map((o) => o.t),
        deletes: slice.filter((o) => o.kind === "d").map((o) => o.t),
      });
    }
    for (const b of batches) {
      await this.observe(
        "write",
        { "authz.writes": b.writes.length, "authz.deletes": b.deletes.length },
        () => this.writeBatch(b, ids),
      );
    }
  }

  private async writeBatch(b: { writes: Tuple[]; deletes: Tuple[] }, ids: ReturnType<Engine["ids"]>) {
    try {
      await this.slow.write(
        {
          writes: b.writes.length ? b.writes : undefined,
          deletes: b.deletes.length
            ? b.deletes.map(({ user, relation, object }) => ({ user, relation, object }))
            : undefined,
        },
        { ...ids, conflict: { onDuplicateWrites: "ignore" as never, onMissingDeletes: "ignore" as never } },
      );
    } catch (err) {
      throw engineError(err);
    }
  }

  /** Every tuple in the store (for the reconciler), page by page. */
  async *readAll(): AsyncGenerator<Tuple> {
    const { storeId } = this.ids();
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      const res = await this.observe("read", {}, async () => {
        try {
          return await this.slow.read({}, { storeId, pageSize: 100, continuationToken: token });
        } catch (err) {
          throw engineError(err);
        }
      });
      for (const t of res.tuples ?? []) yield fromApi(t.key);
      continuationToken = res.continuation_token || undefined;
    } while (continuationToken);
  }

  /** The stored tuple with this key (and its condition), if any. */
  async readOne(key: Pick<Tuple, "user" | "relation" | "object">): Promise<Tuple | undefined> {
    const { storeId } = this.ids();
    const res = await this.observe("read", {}, async () => {
      try {
        return await this.slow.read(key, { storeId, pageSize: 1 });
      } catch (err) {
        throw engineError(err);
      }
    });
    const found = res.tuples?.[0];
    return found ? fromApi(found.key) : undefined;
  }

  close(): void {
    this.fast.close();
  }

  async ping(): Promise<void> {
    try {
      await this.slow.listStores({ pageSize: 1 });
      this.downSince = null;
    } catch (err) {
      this.downSince ??= Date.now();
      throw engineError(err);
    }
  }

  /** observe(), and the engine's health for the decision cache (`downSince`). */
  private async observe<T>(
    operation: string,
    attributes: Record<string, string | number>,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      const r = await observe(operation, attributes, fn);
      this.downSince = null;
      return r;
    } catch (err) {
      if (err instanceof DomainError && err.code === "engine-unavailable") this.downSince ??= Date.now();
      throw err;
    }
  }
}

/**
 * Every engine call is a client span `openfga.<operation>` and a sample of
 * authz_engine_call_duration_seconds; calls the engine did not answer
 * (Unavailable: down, timeout, 5xx) count in authz_engine_errors_total. A
 * request refused as invalid is an answer, not an engine error. readiness
 * pings are left out: they would drown the traces every two seconds.
 */
async function observe<T>(
  operation: string,
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<T> {
  const m = metrics();
  const stop = m.engineSeconds.startTimer({ operation });
  try {
    return await withSpan(
      `openfga.${operation}`,
      { "rpc.system": "openfga", "rpc.method": operation, ...attributes },
      fn,
      SpanKind.CLIENT,
    );
  } catch (err) {
    if (!(err instanceof DomainError) || err.kind === "unavailable") m.engineErrors.inc({ operation });
    throw err;
  } finally {
    stop();
  }
}

/**
 * Engine failures become Unavailable (the caller answers 503 and never allows);
 * a request the engine refuses as invalid (unknown type or relation in a custom
 * model) becomes InvalidInput with code `engine-validation`, which decision
 * code turns into a deny.
 */
export function engineError(err: unknown): Error {
  if (err instanceof FgaApiValidationError) {
    return InvalidInput("engine-validation", err.apiErrorMessage ?? "the engine refused the request");
  }
  const msg = (err as Error)?.message ?? String(err);
  const e = Unavailable("engine-unavailable", "the authorization engine did not answer");
  (e as Error & { cause?: unknown }).cause = msg;
  return e;
}

function fromApi(k: {
  user: string;
  relation: string;
  object: string;
  condition?: { name: string; context?: object };
}): Tuple {
  const tuple: Tuple = { user: k.user, relation: k.relation, object: k.object };
  if (k.condition?.name) {
    tuple.condition = {
      name: k.condition.name,
      context: (k.condition.context ?? {}) as Record<string, unknown>,
    };
  }
  return tuple;
}
