import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { Engine } from "../../src/engine/client.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { silentEngine } from "../support/silent-engine.js";

/**
 * Issue 14 part 4: a bounded number of engine calls in flight, a short
 * bounded queue, an immediate 503 engine-overloaded with Retry-After beyond
 * it; one /access/v1/evaluations call cannot take every slot; /healthz and
 * /readyz never queue. The engine here accepts connections and never answers,
 * so every admitted call holds its slot until its timeout.
 */
describe("overload sheds (issue 14)", () => {
  let t: TestContext;
  let hole: Awaited<ReturnType<typeof silentEngine>>;
  beforeAll(async () => {
    t = await createTestContext();
    hole = await silentEngine();
  });
  afterAll(async () => {
    await hole?.close();
    await t?.close();
  });

  function appWith(opts: { maxInFlight: number; queueMax: number; queueWaitMs: number }) {
    const engine = new Engine({
      apiUrl: hole.url,
      timeoutMs: 1500,
      searchTimeoutMs: 1500,
      ...opts,
    });
    engine.pin(t.engine.storeId!, t.engine.modelId!);
    const app = createApp({ ...t.deps, engine, config: { ...t.config, OPENFGA_LIST_DEADLINE_MS: 0 } });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(path, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: { "content-type": "application/json", authorization: `Bearer ${t.keys.decide}` },
      });
      const text = await res.text();
      return {
        status: res.status,
        body: JSON.parse(text || "{}"),
        retryAfter: res.headers.get("retry-after"),
      };
    };
    return { engine, call };
  }

  /** Wait (up to 5 s) until `ok` holds; the machine may be busy. */
  async function until(ok: () => boolean) {
    const deadline = Date.now() + 5000;
    while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  const ev = (i: number) => ({
    subject: { type: "user", id: `u${i}` },
    action: { name: "can_view" },
    resource: { type: "park", id: `p${i}` },
  });

  it("admits the capacity, queues the queue, refuses the rest at once; never an allow", async () => {
    const { engine, call } = appWith({ maxInFlight: 2, queueMax: 2, queueWaitMs: 300 });
    const pending = Array.from({ length: 10 }, (_, i) => call("POST", "/access/v1/evaluation", ev(i)));
    // Six are refused before any engine call could end: the engine still holds two, two wait.
    const settled: { status: number; body: Record<string, unknown>; retryAfter: string | null }[] = [];
    for (const p of pending) void p.then((r) => settled.push(r));
    await until(() => settled.length >= 6);
    expect(engine.limiter.active).toBe(2);
    expect(settled.slice(0, 6).map((r) => [r.status, r.body.code])).toEqual(
      Array.from({ length: 6 }, () => [503, "engine-overloaded"]),
    );
    // /healthz and /readyz answer while the engine is full (they never queue).
    expect((await call("GET", "/healthz")).status).toBe(200);
    expect([200, 503]).toContain((await call("GET", "/readyz")).status);
    expect(engine.limiter.active).toBe(2);
    const all = await Promise.all(pending);
    const codes = all.map((r) => r.body.code).sort();
    expect(codes).toEqual(
      [
        ...Array.from({ length: 2 }, () => "engine-unavailable"),
        ...Array.from({ length: 8 }, () => "engine-overloaded"),
      ].sort(),
    );
    for (const r of all) {
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe("1");
      expect(r.body.decision).toBeUndefined();
    }
    expect([engine.limiter.active, engine.limiter.waiting]).toEqual([0, 0]);
  });

  it("one 50-item batch takes at most a share of the slots; a single decision still gets one", async () => {
    const { engine, call } = appWith({ maxInFlight: 8, queueMax: 64, queueWaitMs: 5000 });
    const items = Array.from({ length: 50 }, (_, i) => ev(100 + i));
    const batch = call("POST", "/access/v1/evaluations", { evaluations: items });
    await until(() => engine.limiter.active >= 4);
    // Chunks of capacity/4 items, two chunks of one request in flight at most.
    expect(engine.limiter.active).toBe(4);
    expect(engine.limiter.waiting).toBe(0);
    const single = call("POST", "/access/v1/evaluation", ev(999));
    await until(() => engine.limiter.active >= 5);
    expect([engine.limiter.active, engine.limiter.waiting]).toEqual([5, 0]);
    const [b, s] = await Promise.all([batch, single]);
    expect(s.status).toBe(503);
    expect(JSON.stringify(b.body)).not.toContain('"decision":true');
  });
});
