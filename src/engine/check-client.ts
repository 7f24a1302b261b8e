import {
  type BatchEntry,
  type BatchResult,
  batchCheckBody,
  batchInChunks,
  type CheckItem,
  readBatchAnswer,
} from "./batch-check.js";
import { CheckCoalescer } from "./coalesce.js";
import type { JsonClient } from "./http.js";
import { Limiter } from "./limiter.js";
import { postJson } from "./observe.js";
import type { EngineOptions } from "./sdk.js";

/** OpenFGA's limit of items in one BatchCheck (server default). */
export const MAX_BATCH_CHECK_ITEMS = 50;

type Ids = { storeId: string; authorizationModelId: string };
type Observe = <T>(
  operation: string,
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
) => Promise<T>;

/**
 * The decision path to the engine: Check and BatchCheck on the lean client,
 * every call through the limiter (a BatchCheck of n items weighs n; the wait
 * for a slot is bounded by `queueWaitMs`, the call itself by its timeout once
 * it holds one), and single checks that would queue coalesced into
 * BatchChecks (coalesce.ts).
 */
export class CheckClient {
  readonly limiter: Limiter;
  readonly coalescer: CheckCoalescer<CheckItem>;

  constructor(
    private readonly opts: EngineOptions,
    private readonly fast: JsonClient,
    /** The pinned store and model (throws while none is). */
    private readonly ids: () => Ids,
    private readonly observe: Observe,
  ) {
    this.limiter = new Limiter(opts.maxInFlight ?? 32, opts.queueMax ?? 256);
    // Up to half the limiter per coalesced batch (OpenFGA runs a batch's items in parallel).
    this.coalescer = new CheckCoalescer(
      Math.max(1, Math.min(MAX_BATCH_CHECK_ITEMS, Math.floor(this.limiter.capacity / 2))),
      () => this.limiter.waiting === 0 && this.limiter.active < this.limiter.capacity,
      (cb) => this.limiter.whenReleased(cb),
      (item, at) => this.checkOne(item, at),
      (group) => this.postBatch("check_batched", group, opts.timeoutMs),
      opts.batchAfter === 0 ? Number.POSITIVE_INFINITY : (opts.batchAfter ?? 4),
    );
  }

  /** Largest BatchCheck one call sends: a share of the limiter, so no request takes every slot. */
  get batchChunk(): number {
    return Math.max(1, Math.min(MAX_BATCH_CHECK_ITEMS, Math.floor(this.limiter.capacity / 4)));
  }

  private get queueWaitMs(): number {
    return this.opts.queueWaitMs ?? 2000;
  }

  check(item: CheckItem, at: Record<string, unknown>): Promise<boolean> {
    this.ids();
    return this.coalescer.check(item, at);
  }

  private checkOne(item: CheckItem, at: Record<string, unknown>): Promise<boolean> {
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

  batchCheck(items: CheckItem[], at: Record<string, unknown>): Promise<BatchResult[]> {
    const timeout = this.opts.searchTimeoutMs;
    return batchInChunks(items, this.batchChunk, (slice, start) =>
      this.send(
        "batch_check",
        slice.map((item) => ({ item, at })),
        start,
        timeout,
      ),
    );
  }

  /** One coalesced BatchCheck; an entry the answer does not name is unanswered. */
  private async postBatch(
    operation: string,
    entries: BatchEntry[],
    timeoutMs: number,
  ): Promise<BatchResult[]> {
    const out: BatchResult[] = entries.map(() => ({ allowed: false, error: "no answer from engine" }));
    readBatchAnswer(await this.send(operation, entries, 0, timeoutMs), 0, entries.length, out);
    return out;
  }

  private send(operation: string, entries: BatchEntry[], start: number, timeoutMs: number) {
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
}
