import type { OpenFgaClient } from "@openfga/sdk";
import { DomainError, Unavailable } from "../kernel/errors.js";
import type { Delta, Tuple } from "../kernel/tuples.js";
import { engineError, observe } from "./observe.js";
import { createSdkClient, type EngineOptions, fromApi } from "./sdk.js";
import { writeBatches } from "./write-batches.js";

/**
 * The engine's store side on the OpenFGA SDK client (long bound, no SDK
 * retries): store and model ids, lists, tuple writes and reads, the health
 * (`downSince`) every call reports to. Engine (client.ts) adds decisions.
 */
export class EngineStore {
  /** Lists, writes, reads, store and model management. */
  private readonly slow: OpenFgaClient;
  storeId: string | undefined;
  modelId: string | undefined;
  /**
   * Set when a call found the engine away (down, timeout, 5xx), cleared by the
   * next answer. While set, the decision cache serves nothing: decisions fail
   * closed with the engine (R-G2), even where a cached answer is still fresh.
   */
  downSince: number | null = null;

  constructor(readonly opts: EngineOptions) {
    this.slow = createSdkClient(opts);
    this.storeId = opts.storeId;
    this.modelId = opts.modelId;
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

  protected ids() {
    if (!this.storeId || !this.modelId)
      throw Unavailable("engine-not-ready", "authorization model not loaded");
    return { storeId: this.storeId, authorizationModelId: this.modelId };
  }

  static now(): { current_time: string } {
    return { current_time: new Date().toISOString() };
  }

  async listObjects(user: string, relation: string, type: string, at = EngineStore.now()): Promise<string[]> {
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
    at = EngineStore.now(),
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
  protected sdk<T>(
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
  protected async observe<T>(
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
