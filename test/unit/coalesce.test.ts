import { describe, expect, it } from "vitest";
import { type BatchAnswer, CheckCoalescer, type Pending } from "../../src/engine/coalesce.js";
import { InvalidInput, Unavailable } from "../../src/kernel/errors.js";

/** A fake engine over a table: item "x:<answer>", where answer is allow|deny|lost|refused. */
function setup(opts: { batchFails?: Error; max?: number; free?: boolean } = {}) {
  const singles: string[] = [];
  const batches: string[][] = [];
  const answer = (item: string) => item.split(":")[1];
  const c = new CheckCoalescer<string>(
    opts.max ?? 16,
    () => opts.free ?? false,
    (cb) => setImmediate(cb),
    async (item) => {
      singles.push(item);
      if (answer(item) === "refused") throw InvalidInput("engine-validation", "bad item");
      return answer(item) === "allow" || answer(item) === "lost";
    },
    async (group: Pending<string>[]): Promise<BatchAnswer[]> => {
      batches.push(group.map((g) => g.item));
      if (opts.batchFails) throw opts.batchFails;
      return group.map((g) => {
        const a = answer(g.item);
        if (a === "lost") return { allowed: false, error: "context deadline exceeded" };
        if (a === "refused") return { allowed: false, error: "invalid", refused: true };
        return { allowed: a === "allow" };
      });
    },
  );
  const at = { current_time: new Date().toISOString() };
  return { c, singles, batches, at };
}

describe("check coalescing (checks that would queue become BatchChecks, answers item by item)", () => {
  it("while the engine has a free slot, checks go at once as plain checks", async () => {
    const { c, singles, batches, at } = setup({ free: true });
    const r = await Promise.all([c.check("a:allow", at), c.check("b:deny", at)]);
    expect(r).toEqual([true, false]);
    expect([singles, batches]).toEqual([["a:allow", "b:deny"], []]);
  });

  it("a check alone is a plain check", async () => {
    const { c, singles, batches, at } = setup();
    expect(await c.check("a:allow", at)).toBe(true);
    expect(await c.check("b:deny", at)).toBe(false);
    expect([singles, batches]).toEqual([["a:allow", "b:deny"], []]);
  });

  it("checks of one turn go as one batch, each gets its own answer", async () => {
    const { c, singles, batches, at } = setup();
    const r = await Promise.all([c.check("a:allow", at), c.check("b:deny", at), c.check("c:allow", at)]);
    expect(r).toEqual([true, false, true]);
    expect(batches).toEqual([["a:allow", "b:deny", "c:allow"]]);
    expect(singles).toEqual([]);
  });

  it("splits at the batch bound; a lone remainder goes alone", async () => {
    const { c, singles, batches, at } = setup({ max: 2 });
    await Promise.all(["a:allow", "b:allow", "c:deny"].map((i) => c.check(i, at)));
    expect(batches).toEqual([["a:allow", "b:allow"]]);
    expect(singles).toEqual(["c:deny"]);
  });

  it("an item the batch left unanswered is asked alone; a refused one is engine-validation", async () => {
    const { c, singles, at } = setup();
    const [lost, refused, ok] = await Promise.allSettled([
      c.check("a:lost", at),
      c.check("b:refused", at),
      c.check("c:deny", at),
    ]);
    expect(lost).toEqual({ status: "fulfilled", value: true });
    expect(refused.status === "rejected" && (refused.reason as { code: string }).code).toBe(
      "engine-validation",
    );
    expect(ok).toEqual({ status: "fulfilled", value: false });
    expect(singles).toEqual(["a:lost"]);
  });

  it("a batch refused as a whole is split into single checks, so one bad item fails alone", async () => {
    const { c, singles, at } = setup({ batchFails: InvalidInput("engine-validation", "bad batch") });
    const r = await Promise.allSettled([c.check("a:allow", at), c.check("b:refused", at)]);
    expect(r[0]).toEqual({ status: "fulfilled", value: true });
    expect(r[1]!.status).toBe("rejected");
    expect(singles.sort()).toEqual(["a:allow", "b:refused"]);
  });

  it("a batch the engine did not answer fails every item (503), never an allow", async () => {
    const { c, singles, at } = setup({ batchFails: Unavailable("engine-unavailable", "down") });
    const r = await Promise.allSettled([c.check("a:allow", at), c.check("b:allow", at)]);
    for (const x of r) {
      expect(x.status).toBe("rejected");
      expect((x as PromiseRejectedResult).reason.code).toBe("engine-unavailable");
    }
    expect(singles).toEqual([]);
  });
});

describe("coalescing waits for a slot, not for a timer", () => {
  function manual(max = 3) {
    const releases: (() => void)[] = [];
    const batches: string[][] = [];
    const c = new CheckCoalescer<string>(
      max,
      () => false,
      (cb) => releases.push(cb),
      async () => true,
      async (group) => {
        batches.push(group.map((g) => g.item));
        return group.map(() => ({ allowed: true }));
      },
    );
    return { c, releases, batches, at: { current_time: new Date().toISOString() } };
  }

  it("checks gathered while every slot is taken go together when one is released", async () => {
    const { c, releases, batches, at } = manual();
    const p = [c.check("a", at), c.check("b", at)];
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([]);
    expect(releases.length).toBe(1);
    releases[0]!();
    expect(await Promise.all(p)).toEqual([true, true]);
    expect(batches).toEqual([["a", "b"]]);
  });

  it("a full batch goes at once", async () => {
    const { c, batches, at } = manual(3);
    const p = ["a", "b", "c"].map((i) => c.check(i, at));
    expect(batches).toEqual([["a", "b", "c"]]);
    await Promise.all(p);
  });
});

describe("beyond maxRequests check requests in flight, checks gather until one answers", () => {
  function bounded(maxRequests: number) {
    const calls: { items: string[]; answer: () => void }[] = [];
    const pending = <T>(items: string[], value: T) =>
      new Promise<T>((resolve) => calls.push({ items, answer: () => resolve(value) }));
    const c = new CheckCoalescer<string>(
      16,
      () => true,
      () => {},
      (item) => pending([item], true),
      (group) =>
        pending(
          group.map((g) => g.item),
          group.map(() => ({ allowed: false })),
        ),
      maxRequests,
    );
    return { c, calls, at: { current_time: new Date().toISOString() } };
  }
  const turn = () => new Promise((r) => setImmediate(r));

  it("the first maxRequests go alone at once; the rest go as one BatchCheck when one answers", async () => {
    const { c, calls, at } = bounded(2);
    const first = [c.check("a", at), c.check("b", at)];
    const later = [c.check("c", at), c.check("d", at), c.check("e", at)];
    expect(calls.map((x) => x.items)).toEqual([["a"], ["b"]]);
    calls[0]!.answer();
    expect(await first[0]).toBe(true);
    await turn();
    expect(calls.map((x) => x.items)).toEqual([["a"], ["b"], ["c", "d", "e"]]);
    calls[2]!.answer();
    expect(await Promise.all(later)).toEqual([false, false, false]);
    // Requests in flight: only "b"; the next check goes alone again.
    const f = c.check("f", at);
    expect(calls.at(-1)!.items).toEqual(["f"]);
    calls[1]!.answer();
    calls.at(-1)!.answer();
    expect(await Promise.all([first[1], f])).toEqual([true, true]);
    expect(c.stats).toEqual({ singles: 3, batches: 1, batchedChecks: 3 });
  });

  it("without the bound (Infinity) concurrent checks all go alone while the engine has room", async () => {
    const { c, calls, at } = bounded(Number.POSITIVE_INFINITY);
    const p = ["a", "b", "c", "d", "e"].map((i) => c.check(i, at));
    expect(calls.map((x) => x.items)).toEqual([["a"], ["b"], ["c"], ["d"], ["e"]]);
    for (const x of calls) x.answer();
    expect(await Promise.all(p)).toEqual([true, true, true, true, true]);
  });
});
