import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { Engine } from "../../src/engine/client.js";
import { findOpenFgaBinary, type LocalOpenFga, startLocalOpenFga } from "../../src/local/openfga.js";
import { metrics } from "../../src/metrics.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { parkIn } from "../support/coop-factories.js";
import { createOrg } from "../support/factories.js";
import { silentEngine } from "../support/silent-engine.js";

const user = (id: string) => ({ type: "user", id });

/** Every decision endpoint with a request that the engine would allow. */
function requests(admin: string, orgId: string): [string, unknown][] {
  const ev = { subject: user(admin), action: { name: "can_view" }, resource: { type: "park", id: "park-1" } };
  return [
    ["evaluation", ev],
    ["evaluations", { ...ev, evaluations: [{}, { action: { name: "can_use_vpn" } }] }],
    [
      "evaluations",
      { ...ev, options: { evaluations_semantic: "permit_on_first_permit" }, evaluations: [{}] },
    ],
    ["search/resource", { subject: user(admin), action: { name: "can_view" }, resource: { type: "park" } }],
    ["search/subject", { subject: { type: "user" }, action: { name: "can_view" }, resource: ev.resource }],
    ["search/action", { subject: user(admin), resource: { type: "organization", id: orgId } }],
  ];
}

async function expectAll503(
  call: (
    path: string,
    body: unknown,
  ) => Promise<{ status: number; body: Record<string, unknown>; res: Response }>,
  reqs: [string, unknown][],
) {
  for (const [path, body] of reqs) {
    const res = await call(`/access/v1/${path}`, body);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(503);
    expect(res.res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("engine-unavailable");
    expect(JSON.stringify(res.body)).not.toContain('"decision":true');
    expect(res.body.decision).toBeUndefined();
    expect(res.body.evaluations).toBeUndefined();
    expect(res.body.results).toBeUndefined();
  }
}

describe("decisions fail closed (R-G2)", () => {
  let fga: LocalOpenFga;
  let t: TestContext;
  let org: { id: string; admin: string; portfolioId: string };
  beforeAll(async () => {
    fga = await startLocalOpenFga({ bin: await findOpenFgaBinary(), engine: "memory" });
    t = await createTestContext({
      openfgaUrl: fga.url,
      config: { OPENFGA_TIMEOUT_MS: "5000", OPENFGA_SEARCH_TIMEOUT_MS: "20000" },
    });
    org = await createOrg(t);
    await parkIn(t, { id: "park-1", organizationId: org.id, portfolioId: org.portfolioId });
  });
  afterAll(async () => {
    await t?.close();
    await fga?.stop();
  });

  it("R-G2: a stopped engine answers 503 problem+json on every decision endpoint, never allow", async () => {
    const call = (path: string, body: unknown) =>
      t.json("POST", path, { body, key: "decide", headers: { "x-request-id": "down-1" } });
    const reqs = requests(org.admin, org.id);
    // While the engine runs, these requests are allowed.
    const before = await call("/access/v1/evaluation", reqs[0]![1]);
    expect(before.body).toEqual({ decision: true });
    const errors = async () =>
      (await metrics().decisions.get()).values.find(
        (v) => v.labels.endpoint === "evaluation" && v.labels.result === "error",
      )?.value ?? 0;
    const errors0 = await errors();

    await fga.stop();
    expect(fga.process.exitCode !== null || fga.process.signalCode !== null).toBe(true);
    // The evaluation above is in the decision cache and still fresh (nothing
    // changed), but once any call has found the engine away, the cache serves
    // nothing: every decision fails closed with the engine.
    const first = await call("/access/v1/search/subject", reqs[4]![1]);
    expect(first.status).toBe(503);
    expect(t.engine.downSince).not.toBeNull();
    await expectAll503(call, reqs);
    const res = await call("/access/v1/evaluation", reqs[0]![1]);
    expect(res.res.headers.get("x-request-id")).toBe("down-1");
    expect(await errors()).toBe(errors0 + 2);
  });
});

describe("decisions time out within OPENFGA_TIMEOUT_MS (R-G2)", () => {
  let t: TestContext;
  let hole: Awaited<ReturnType<typeof silentEngine>>;
  let org: { id: string; admin: string; portfolioId: string };
  beforeAll(async () => {
    t = await createTestContext();
    // A park the resource search names as a candidate, so it has to ask the engine.
    org = await createOrg(t);
    await parkIn(t, { id: "park-1", organizationId: org.id, portfolioId: org.portfolioId });
    hole = await silentEngine();
  });
  afterAll(async () => {
    await hole?.close();
    await t?.close();
  });

  it("R-G2: a hanging engine answers 503 after the configured bound, never allow", async () => {
    const engine = new Engine({ apiUrl: hole.url, timeoutMs: 300, searchTimeoutMs: 600 });
    engine.pin(t.engine.storeId!, t.engine.modelId!);
    const app = createApp({
      ...t.deps,
      engine,
      config: {
        ...t.config,
        OPENFGA_TIMEOUT_MS: 300,
        OPENFGA_SEARCH_TIMEOUT_MS: 600,
        OPENFGA_LIST_DEADLINE_MS: 0,
      },
    });
    const call = async (path: string, body: unknown) => {
      const started = performance.now();
      const res = await app.request(path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", authorization: `Bearer ${t.keys.decide}` },
      });
      expect(performance.now() - started).toBeLessThan(3000);
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text), res };
    };
    await expectAll503(call, requests(org.admin, org.id));
  });
});
