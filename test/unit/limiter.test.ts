import { describe, expect, it } from "vitest";
import { Limiter } from "../../src/engine/limiter.js";

/** A call that holds its slot until released by hand. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

const code = (e: unknown) => (e as { code?: string }).code;

describe("engine limiter (issue 14: overload sheds, it does not collapse)", () => {
  it("admits up to its capacity at once, queues the next, FIFO", async () => {
    const l = new Limiter(2, 10);
    const gates = [gate(), gate(), gate(), gate()];
    const order: number[] = [];
    const runs = gates.map((g, i) =>
      l.run(1, 10_000, async () => {
        order.push(i);
        await g.p;
      }),
    );
    await new Promise((r) => setTimeout(r, 5));
    expect([l.active, l.waiting]).toEqual([2, 2]);
    expect(order).toEqual([0, 1]);
    gates[1]!.open();
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3]);
    expect([l.active, l.waiting]).toEqual([0, 0]);
  });

  it("refuses at once with engine-overloaded beyond the queue", async () => {
    const l = new Limiter(1, 1);
    const g = gate();
    const first = l.run(1, 10_000, () => g.p);
    const second = l.run(1, 10_000, async () => "queued");
    // Refused without ever joining the queue (no timer, no slot).
    const third = l.run(1, 10_000, async () => "x");
    expect(l.waiting).toBe(1);
    await expect(third).rejects.toSatisfy((e) => code(e) === "engine-overloaded");
    g.open();
    await first;
    expect(await second).toBe("queued");
  });

  it("a queued call that waits past its budget is refused and leaves the queue", async () => {
    const l = new Limiter(1, 10);
    const g = gate();
    const first = l.run(1, 10_000, () => g.p);
    await expect(l.run(1, 30, async () => "late")).rejects.toSatisfy((e) => code(e) === "engine-overloaded");
    expect(l.waiting).toBe(0);
    g.open();
    await first;
    expect(l.active).toBe(0);
  });

  it("refuses at once when the predicted wait (queue × recent hold time ÷ capacity) exceeds the budget", async () => {
    const l = new Limiter(1, 100);
    // Teach it that a call holds its slot about 40 ms.
    for (let i = 0; i < 3; i++) await l.run(1, 1000, () => new Promise((r) => setTimeout(r, 40)));
    expect(l.predictedWaitMs(1)).toBeGreaterThan(30);
    const g = gate();
    const holder = l.run(1, 1000, () => g.p);
    const queued = l.run(1, 1000, async () => "ok");
    // Two calls ahead at ~40 ms each: a 60 ms budget cannot be met; refused without waiting.
    const hasty = l.run(1, 60, async () => "x");
    expect(l.waiting).toBe(1);
    await expect(hasty).rejects.toSatisfy((e) => code(e) === "engine-overloaded");
    // A generous budget still queues.
    const patient = l.run(1, 5000, async () => "patient");
    g.open();
    await holder;
    expect([await queued, await patient]).toEqual(["ok", "patient"]);
  });

  it("a call heavier than the capacity takes the whole capacity, not more", async () => {
    const l = new Limiter(4, 0);
    const g = gate();
    const big = l.run(50, 1000, () => g.p);
    expect(l.active).toBe(4);
    await expect(l.run(1, 1000, async () => 1)).rejects.toSatisfy((e) => code(e) === "engine-overloaded");
    g.open();
    await big;
    expect(await l.run(1, 1000, async () => 1)).toBe(1);
  });

  it("a failing call frees its slot", async () => {
    const l = new Limiter(1, 0);
    await expect(l.run(1, 100, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(l.active).toBe(0);
    expect(await l.run(1, 100, async () => 2)).toBe(2);
  });
});
