import type { OpenFgaClient } from "@openfga/sdk";
import type { Config } from "../config.js";
import { DomainError, Unavailable } from "../kernel/errors.js";
import type { Delta, Tuple } from "../kernel/tuples.js";
import type { BatchResult, CheckItem } from "./batch-check.js";
import { CheckClient, MAX_BATCH_CHECK_ITEMS } from "./check-client.js";
import type { CheckCoalescer } from "./coalesce.js";
import { JsonClient } from "./http.js";
import type { Limiter } from "./limiter.js";
import { engineError, observe } from "./observe.js";
import { createSdkClient, type EngineOptions, fromApi } from "./sdk.js";
import { writeBatches } from "./write-batches.js";

export type { BatchResult, CheckItem, EngineOptions };
export { engineError, MAX_BATCH_CHECK_ITEMS };

/**
 * The one OpenFGA client. Store and model ids are pinned after bootstrap; the
 * current time is added to every check and list call so that conditioned
 * tuples (cooperation expiry) are evaluated at the moment of the request.
 * SDK retries are off: a decision must answer within its bound or fail closed.
 */
export class Engine {
  /** Everything but Check and BatchCheck: lists, writes, reads, store and model management. */
  private readonly slow: OpenFgaClient;
  /** Check and BatchCheck go through this lean client, the rest through the SDK. */
  private readonly fast: JsonClient;
  /** Check and BatchCheck: the limiter, the coalescer and the lean client. */
  private readonly checks: CheckClient;
  storeId: string | undefined;
  modelId: string | undefined;
  /**
   * Set when a call found the engine away (down, timeout, 5xx), cleared by the
   * next answer. While set, the decision cache serves nothing: decisions fail
   * closed with the engine (R-G2), even where a cached answer is still fresh.
   */
  downSince: number | null = null;

  constructor(readonly opts: EngineOptions) {
    this.fast = new JsonClient(opts.apiUrl, opts.apiToken);
    // A connection the engine closed may mean it is gone: serve nothing from
    // the cache until the next call answers (cleared by any success).
    this.fast.onConnectionLost = () => {
      this.downSince ??= Date.now();
    };
    this.checks = new CheckClient(
      opts,
      this.fast,
      () => this.ids(),
      (op, attrs, fn) => this.observe(op, attrs, fn),
    );
    this.slow = createSdkClient(opts);
    this.storeId = opts.storeId;
    this.modelId = opts.modelId;
  }

  /**
   * The one way the service builds its engine client: bounds, limiter and
   * credentials from the configuration. `apiUrl` when OpenFGA is not the
   * configured one (a local child process, a test's own server).
   */
  static fromConfig(config: Config, over: { apiUrl?: string } = {}): Engine {
    const apiUrl = over.apiUrl ?? config.OPENFGA_API_URL;
    if (!apiUrl) throw new Error("no OpenFGA URL: set OPENFGA_API_URL");
    return new Engine({
      apiUrl,
      apiToken: config.OPENFGA_API_TOKEN,
      storeId: config.OPENFGA_STORE_ID,
      modelId: config.OPENFGA_MODEL_ID,
      timeoutMs: config.OPENFGA_TIMEOUT_MS,
      searchTimeoutMs: config.OPENFGA_SEARCH_TIMEOUT_MS,
      maxInFlight: config.ENGINE_MAX_IN_FLIGHT,
      queueMax: config.ENGINE_QUEUE_MAX,
      queueWaitMs: config.ENGINE_QUEUE_WAIT_MS,
      batchAfter: config.ENGINE_BATCH_AFTER,
    });
  }

  pin(storeId: string, modelId: string): void {
    this.storeId = storeId;
    this.modelId = modelId;
    this.slow.storeId = storeId;
    this.slow.authorizationModelId = modelId;
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
    return this.checks.batchChunk;
  }

  get limiter(): Limiter {
    return this.checks.limiter;
  }

  get coalescer(): CheckCoalescer<CheckItem> {
    return this.checks.coalescer;
  }

  /** One decision; checks that would queue are coalesced into BatchChecks (see check-client.ts). */
  async check(item: CheckItem, at: Record<string, unknown> = Engine.now()): Promise<boolean> {
    return this.checks.check(item, at);
  }

  /**
   * Server-side BatchCheck in chunks of `batchChunk` items, each chunk through
   * the limiter (weight = its items). An item that errors is a deny with its
   * error; the caller may retry it alone.
   */
  async batchCheck(items: CheckItem[], at: Record<string, unknown> = Engine.now()): Promise<BatchResult[]> {
    return this.checks.batchCheck(items, at);
  }

  async listObjects(user: string, relation: string, type: string, at = Engine.now()): Promise<string[]> {
    const ids = this.ids();
    const attrs = { "authz.relation": relation, "authz.type": type };
    const res = await this.sdk("list_objects", attrs, (c) =>
      c.listObjects({ user, relation, type, context: at }, ids),
    );
    return res.objects ?? [];
  }

  async listUsers(
    object: { type: string; id: string },
    relation: string,
    at = Engine.now(),
    userType = "user",
  ): Promise<string[]> {
    const ids = this.ids();
    const attrs = { "authz.relation": relation, "authz.type": object.type };
    const res = await this.sdk("list_users", attrs, (c) =>
      c.listUsers({ object, relation, user_filters: [{ type: userType }], context: at }, ids),
    );
    return (res.users ?? []).flatMap((u) => (u.object ? [u.object.id] : []));
  }

  /**
   * Apply a delta. Each request holds at most 100 tuples and is transactional;
   * a key deleted and written in the same delta (a changed condition) is
   * deleted in an earlier request than it is written. Writes ignore duplicates
   * and deletes ignore missing tuples, so replays (reconcile, retries) are safe.
   */
  async write(delta: Delta): Promise<void> {
    const ids = this.ids();
    const conflict = { onDuplicateWrites: "ignore" as never, onMissingDeletes: "ignore" as never };
    for (const b of writeBatches(delta)) {
      const attrs = { "authz.writes": b.writes.length, "authz.deletes": b.deletes.length };
      await this.sdk("write", attrs, (c) =>
        c.write(
          {
            writes: b.writes.length ? b.writes : undefined,
            deletes: b.deletes.length
              ? b.deletes.map(({ user, relation, object }) => ({ user, relation, object }))
              : undefined,
          },
          { ...ids, conflict },
        ),
      );
    }
  }

  /** Every tuple in the store (for the reconciler), page by page. */
  async *readAll(): AsyncGenerator<Tuple> {
    const { storeId } = this.ids();
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      const res = await this.sdk("read", {}, (c) =>
        c.read({}, { storeId, pageSize: 100, continuationToken: token }),
      );
      for (const t of res.tuples ?? []) yield fromApi(t.key);
      continuationToken = res.continuation_token || undefined;
    } while (continuationToken);
  }

  /** The stored tuple with this key (and its condition), if any. */
  async readOne(key: Pick<Tuple, "user" | "relation" | "object">): Promise<Tuple | undefined> {
    const { storeId } = this.ids();
    const res = await this.sdk("read", {}, (c) => c.read(key, { storeId, pageSize: 1 }));
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

  /** One call on the SDK client, observed; its failures as engineError. */
  private sdk<T>(
    operation: string,
    attributes: Record<string, string | number>,
    fn: (client: OpenFgaClient) => Promise<T>,
  ): Promise<T> {
    return this.observe(operation, attributes, () =>
      fn(this.slow).catch((err: unknown) => {
        throw engineError(err);
      }),
    );
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
