import { describe, expect, it } from "vitest";
import type { BatchResult, CheckItem, Engine } from "../../src/engine/client.js";
import { DecisionCache } from "../../src/engine/decision-cache.js";
import { RevisionFence } from "../../src/engine/fence.js";
import type { RevisionState } from "../../src/engine-sync/revision.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("RevisionFence", () => {
  it("every caller gets a read that started after its call; callers during a read share the next one", async () => {
    const reads: ReturnType<typeof deferred<number>>[] = [];
    const fence = new RevisionFence(() => {
      const d = deferred<number>();
      reads.push(d);
      return d.promise;
    });
    const a = fence.current();
    expect(reads.length).toBe(1);
    const b = fence.current();
    const c = fence.current();
    // b and c arrived while read 1 was in flight: they must not get read 1.
    expect(reads.length).toBe(1);
    reads[0]!.resolve(1);
    expect(await a).toBe(1);
    await new Promise((r) => setTimeout(r, 0));
    expect(reads.length).toBe(2);
    reads[1]!.resolve(2);
    expect(await b).toBe(2);
    expect(await c).toBe(2);
    expect(fence.reads).toBe(2);
  });

  it("a failed read fails its waiters and the next caller starts a new read", async () => {
    let n = 0;
    const fence = new RevisionFence(async () => {
      n++;
      if (n === 1) throw new Error("db down");
      return n;
    });
    await expect(fence.current()).rejects.toThrow("db down");
    expect(await fence.current()).toBe(2);
  });
});

/** A fake engine: answers from a table, counts calls. */
function fakeEngine(answers: Map<string, boolean>) {
  const calls: string[] = [];
  const k = (i: CheckItem) => `${i.user} ${i.relation} ${i.object}`;
  const engine = {
    modelId: "m1",
    downSince: null as number | null,
    async check(i: CheckItem) {
      calls.push(k(i));
      return answers.get(k(i)) ?? false;
    },
    async batchCheck(items: CheckItem[]): Promise<BatchResult[]> {
      for (const i of items) calls.push(k(i));
      return items.map((i) => ({ allowed: answers.get(k(i)) ?? false }));
    },
  };
  return { engine: engine as unknown as Engine & { downSince: number | null }, calls };
}

const item = (u: string): CheckItem => ({ user: `user:${u}`, relation: "can_view", object: "park:p" });
const at = (ms = Date.now()) => ({ current_time: new Date(ms).toISOString() });

describe("DecisionCache", () => {
  function setup(state: RevisionState, size = 10) {
    const answers = new Map([["user:a can_view park:p", true]]);
    const { engine, calls } = fakeEngine(answers);
    let s = state;
    const fence = new RevisionFence(async () => s);
    const cache = new DecisionCache(engine, size, fence);
    return { cache, calls, answers, engine, set: (n: Partial<RevisionState>) => (s = { ...s, ...n }) };
  }
  const base: RevisionState = { revision: 5, changesOpen: false, nextExpiry: Number.POSITIVE_INFINITY };

  it("serves a repeated decision from the cache while the revision stands", async () => {
    const { cache, calls } = setup(base);
    expect(await cache.check(item("a"), at())).toBe(true);
    expect(await cache.check(item("a"), at())).toBe(true);
    expect(calls.length).toBe(1);
  });

  it("asks the engine again once the revision moved (a change happened)", async () => {
    const { cache, calls, answers, set } = setup(base);
    expect(await cache.check(item("a"), at())).toBe(true);
    answers.set("user:a can_view park:p", false);
    set({ revision: 6 });
    expect(await cache.check(item("a"), at())).toBe(false);
    expect(calls.length).toBe(2);
  });

  it("serves and stores nothing while a change is open", async () => {
    const { cache, calls, set } = setup({ ...base, changesOpen: true });
    await cache.check(item("a"), at());
    set({ changesOpen: false });
    await cache.check(item("a"), at());
    expect(calls.length).toBe(2);
  });

  it("an allow does not outlive the next cooperation expiry; a deny does", async () => {
    const now = Date.now();
    const { cache, calls } = setup({ ...base, nextExpiry: now + 1000 });
    await cache.check(item("a"), at(now));
    await cache.check(item("b"), at(now));
    await cache.check(item("a"), at(now + 999));
    await cache.check(item("b"), at(now + 2000));
    expect(calls.length).toBe(2);
    await cache.check(item("a"), at(now + 1000));
    expect(calls.length).toBe(3);
  });

  it("bypasses the cache while the engine is seen down, and when the revision cannot be read", async () => {
    const { cache, calls, engine } = setup(base);
    await cache.check(item("a"), at());
    engine.downSince = Date.now();
    await cache.check(item("a"), at());
    expect(calls.length).toBe(2);
    const failing = new DecisionCache(
      engine,
      10,
      new RevisionFence<RevisionState>(async () => Promise.reject(new Error("x"))),
    );
    engine.downSince = null;
    await failing.check(item("a"), at());
    await failing.check(item("a"), at());
    expect(calls.length).toBe(4);
  });

  it("is bounded (LRU) and keeps the recently used entry", async () => {
    const { cache, calls } = setup(base, 2);
    await cache.check(item("a"), at());
    await cache.check(item("b"), at());
    await cache.check(item("a"), at());
    await cache.check(item("c"), at());
    expect(cache.entries).toBe(2);
    await cache.check(item("a"), at());
    expect(calls.length).toBe(3);
  });

  it("batches: hits from the cache, each distinct miss asked once, answers in order", async () => {
    const { cache, calls } = setup(base);
    await cache.check(item("a"), at());
    const r = await cache.batchCheck([item("a"), item("b"), item("b"), item("a"), item("c")], at());
    expect(r.map((x) => x.allowed)).toEqual([true, false, false, true, false]);
    expect(calls).toEqual(["user:a can_view park:p", "user:b can_view park:p", "user:c can_view park:p"]);
  });

  it("concurrent misses for one key share one engine call", async () => {
    const { cache, calls } = setup(base);
    const [x, y, z] = await Promise.all([1, 2, 3].map(() => cache.check(item("a"), at())));
    expect([x, y, z]).toEqual([true, true, true]);
    expect(calls.length).toBe(1);
  });
});

describe("DecisionCache.batchCheckAll (lists are never silently shorter)", () => {
  /** An engine whose batch leaves item b unanswered and refuses item r; its single checks answer as told. */
  function flaky(singleAnswersB: boolean | "fail") {
    const singles: string[] = [];
    const engine = {
      modelId: "m1",
      downSince: null as number | null,
      async check(i: CheckItem) {
        singles.push(i.user);
        if (singleAnswersB === "fail") throw new Error("no answer from engine");
        return singleAnswersB;
      },
      async batchCheck(items: CheckItem[]): Promise<BatchResult[]> {
        return items.map((i) =>
          i.user === "user:b"
            ? { allowed: false, error: "context deadline exceeded" }
            : i.user === "user:r"
              ? { allowed: false, error: "type 'x' not found", refused: true }
              : { allowed: true },
        );
      },
    };
    return { cache: new DecisionCache(engine as unknown as Engine), singles };
  }

  it("an unanswered item is asked once more alone; a refused one is a deny and not retried", async () => {
    const { cache, singles } = flaky(true);
    expect(await cache.batchCheckAll([item("a"), item("b"), item("r")], at())).toEqual([true, true, false]);
    expect(singles).toEqual(["user:b"]);
  });

  it("an item still unanswered after that fails the whole call with 503, never a partial list", async () => {
    const { cache, singles } = flaky("fail");
    await expect(cache.batchCheckAll([item("a"), item("b")], at())).rejects.toMatchObject({
      kind: "unavailable",
      code: "engine-unavailable",
    });
    expect(singles).toEqual(["user:b"]);
  });
});
