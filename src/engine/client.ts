import type { Config } from "../config.js";
import {
  type BatchEntry,
  type BatchResult,
  batchCheckBody,
  batchInChunks,
  type CheckItem,
  readBatchAnswer,
} from "./batch-check.js";
import { CheckCoalescer } from "./coalesce.js";
import { JsonClient } from "./http.js";
import { Limiter } from "./limiter.js";
import { engineError, postJson } from "./observe.js";
import type { EngineOptions } from "./sdk.js";
import { EngineStore } from "./store.js";

export type { BatchResult, CheckItem, EngineOptions };
export { engineError };

/** OpenFGA's limit of items in one BatchCheck (server default). */
export const MAX_BATCH_CHECK_ITEMS = 50;

/**
 * The one OpenFGA client: decisions (Check, BatchCheck) here, on the lean
 * client through the limiter; lists, writes and reads in EngineStore
 * (store.ts). The current time is added to every check and list call so that
 * conditioned tuples (cooperation expiry) are evaluated at the moment of the
 * request; a decision answers within its bound or fails closed.
 */
export class Engine extends EngineStore {
  /** Check and BatchCheck go through this lean client, the rest through the SDK (store.ts). */
  private readonly fast: JsonClient;
  readonly limiter: Limiter;
  /** Concurrent checks go to the engine together (see coalesce.ts). */
  readonly coalescer: CheckCoalescer<CheckItem>;

  constructor(opts: EngineOptions) {
    super(opts);
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
    });
  }

  /** Largest BatchCheck one call sends: a share of the limiter, so no request takes every slot. */
  get batchChunk(): number {
    return Math.max(1, Math.min(MAX_BATCH_CHECK_ITEMS, Math.floor(this.limiter.capacity / 4)));
  }

  /** How long a call may wait for an engine slot (its own timeout starts once it holds one). */
  private get queueWaitMs(): number {
    return this.opts.queueWaitMs ?? 2000;
  }

  /** One decision; concurrent ones are coalesced into BatchChecks, a lone one is a plain Check. */
  async check(item: CheckItem, at: Record<string, unknown> = Engine.now()): Promise<boolean> {
    this.ids();
    return this.coalescer.check(item, at);
  }

  private async checkOne(item: CheckItem, at: Record<string, unknown>): Promise<boolean> {
    const ids = this.ids();
    const timeout = this.opts.timeoutMs;
    return this.observe("check", { "authz.relation": item.relation, "authz.object": item.object }, () =>
      this.limiter.run(1, this.queueWaitMs, async () => {
        const res = await postJson(
          this.fast,
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
    const timeout = this.opts.searchTimeoutMs;
    return batchInChunks(items, this.batchChunk, (slice, start) =>
      this.sendBatch(
        "batch_check",
        slice.map((item) => ({ item, at })),
        start,
        timeout,
      ),
    );
  }

  /** One BatchCheck request through the limiter (weight = its items); answers per entry. */
  private async postBatch(
    operation: string,
    entries: BatchEntry[],
    timeoutMs: number,
  ): Promise<BatchResult[]> {
    const out: BatchResult[] = entries.map(() => ({ allowed: false, error: "no answer from engine" }));
    readBatchAnswer(await this.sendBatch(operation, entries, 0, timeoutMs), 0, entries.length, out);
    return out;
  }

  private sendBatch(operation: string, entries: BatchEntry[], start: number, timeoutMs: number) {
    const ids = this.ids();
    return this.observe(operation, { "authz.items": entries.length }, () =>
      this.limiter.run(entries.length, this.queueWaitMs, () =>
        postJson(
          this.fast,
          `/stores/${ids.storeId}/batch-check`,
          batchCheckBody(entries, start, ids.authorizationModelId),
          timeoutMs,
        ),
      ),
    );
  }

  close(): void {
    this.fast.close();
  }
}
