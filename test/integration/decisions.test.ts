import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { cooperationTuples, grantTuples, parkTuples, shareTuples } from "../../src/kernel/tuples.js";
import { metrics } from "../../src/metrics.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";
import { logLines } from "../support/log-lines.js";

const PATH = "/access/v1/evaluation";
const ask = (subject: string, action: string, type: string, id: string, context?: unknown) => ({
  subject: { type: "user", id: subject },
  action: { name: action },
  resource: { type, id },
  ...(context === undefined ? {} : { context }),
});

describe("decisions: POST /access/v1/evaluation", () => {
  let t: TestContext;
  let org: { id: string; admin: string; portfolioId: string };
  let viewer: string;
  let partner: { id: string; admin: string };
  let lapsed: { id: string; admin: string };
  const decide = async (body: unknown) => {
    const res = await t.json("POST", PATH, { body, key: "decide" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.decision;
  };

  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
    org = await createOrg(t);
    partner = await createOrg(t);
    lapsed = await createOrg(t);
    viewer = await addMemberTo(t, org.id, "member");
    const park = (id: string) => parkTuples({ id, organizationId: org.id, portfolioId: org.portfolioId });
    const coop = (id: string, p: string, expiresAt: Date | null) =>
      cooperationTuples({
        id,
        ownerOrganizationId: org.id,
        partnerOrganizationId: p,
        state: "active",
        expiresAt,
      });
    await t.engine.write({
      writes: [
        ...park("park-1"),
        ...park("park-2"),
        ...grantTuples({
          resourceType: "park",
          resourceId: "park-1",
          userId: viewer,
          level: "viewer",
          cooperationId: null,
        }),
        ...coop("coop-live", partner.id, null),
        ...shareTuples({
          cooperationId: "coop-live",
          resourceType: "park",
          resourceId: "park-1",
          level: "viewer",
        }),
        ...coop("coop-lapsed", lapsed.id, new Date(Date.now() - 60_000)),
        ...shareTuples({
          cooperationId: "coop-lapsed",
          resourceType: "park",
          resourceId: "park-2",
          level: "operator",
        }),
      ],
      deletes: [],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("R-O1/R-O2: answers SPEC §2 permissions from the model", async () => {
    expect(await decide(ask(org.admin, "can_configure_settings", "park", "park-1"))).toBe(true);
    expect(await decide(ask(viewer, "can_view", "park", "park-1"))).toBe(true);
    expect(await decide(ask(viewer, "can_edit_details", "park", "park-1"))).toBe(false);
    expect(await decide(ask(viewer, "can_view", "park", "park-2"))).toBe(false);
    expect(await decide(ask(org.admin, "can_manage_members", "organization", org.id))).toBe(true);
    expect(await decide(ask(userId("stranger"), "can_view", "organization", org.id))).toBe(false);
  });

  it("denies internal relations, unknown actions and types, other subject types and malformed ids (200)", async () => {
    // The admin holds every one of these internal relations in the engine: the API never answers them.
    for (const [action, type, id] of [
      ["lvl_operator", "park", "park-1"],
      ["own_operator", "park", "park-1"],
      ["role_admin", "organization", org.id],
      ["member", "organization", org.id],
      ["can_fly", "park", "park-1"],
      ["can_view", "spaceship", "park-1"],
    ]) {
      const res = await t.json("POST", PATH, { body: ask(org.admin, action!, type!, id!), key: "decide" });
      expect([res.status, res.body]).toEqual([200, { decision: false }]);
    }
    const group = {
      ...ask(org.admin, "can_view", "park", "park-1"),
      subject: { type: "group", id: org.admin },
    };
    expect(await decide(group)).toBe(false);
    for (const bad of ["", "a b", "park-1#owner", "x".repeat(129), "ü"]) {
      expect(await decide(ask(org.admin, "can_view", "park", bad))).toBe(false);
      expect(await decide(ask(bad, "can_view", "park", "park-1"))).toBe(false);
    }
  });

  it("R-C6/R-G1: the request time is the server's; a caller's context cannot revive an expired cooperation", async () => {
    expect(await decide(ask(partner.admin, "can_view", "park", "park-1"))).toBe(true);
    expect(await decide(ask(lapsed.admin, "can_view", "park", "park-2"))).toBe(false);
    const replay = ask(lapsed.admin, "can_view", "park", "park-2", { current_time: "2000-01-01T00:00:00Z" });
    expect(await decide(replay)).toBe(false);
  });

  it("R-G4: refuses a missing or wrongly typed required field with 400 and errors[]", async () => {
    const good = ask(org.admin, "can_view", "park", "park-1");
    const cases: [unknown, string][] = [
      [{ action: good.action, resource: good.resource }, "subject"],
      [{ subject: good.subject, resource: good.resource }, "action"],
      [{ subject: good.subject, action: good.action }, "resource"],
      [{ ...good, subject: { type: "user" } }, "subject.id"],
      [{ ...good, subject: { type: "user", id: 5 } }, "subject.id"],
      [{ ...good, action: "can_view" }, "action"],
      [{ ...good, action: { name: ["can_view"] } }, "action.name"],
      [{ ...good, resource: { type: null, id: "park-1" } }, "resource.type"],
      [{ ...good, context: [1, 2] }, "context"],
      [{}, "subject"],
    ];
    for (const [body, path] of cases) {
      const res = await t.json("POST", PATH, { body, key: "decide" });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.body.code).toBe("invalid-request");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      expect(res.body.decision).toBeUndefined();
    }
  });

  it("R-G4: refuses a non-object body, malformed JSON (400) and a wrong content type (415)", async () => {
    for (const body of ["[1]", '"text"', "42", "null"]) {
      const res = await t.json("POST", PATH, { body, key: "decide" });
      expect([res.status, res.body.code]).toEqual([400, "body-not-object"]);
    }
    const malformed = await t.json("POST", PATH, { body: '{"subject": {', key: "decide" });
    expect([malformed.status, malformed.body.code]).toEqual([400, "malformed-json"]);
    const wrongType = await t.json("POST", PATH, {
      body: JSON.stringify(ask(org.admin, "can_view", "park", "park-1")),
      headers: { "content-type": "text/plain" },
      key: "decide",
    });
    expect([wrongType.status, wrongType.body.code]).toEqual([415, "unsupported-media-type"]);
  });

  it("echoes X-Request-ID on answers and on problems", async () => {
    const ok = await t.json("POST", PATH, {
      body: ask(org.admin, "can_view", "park", "park-1"),
      headers: { "x-request-id": "req-eval-1" },
    });
    expect(ok.res.headers.get("x-request-id")).toBe("req-eval-1");
    const bad = await t.json("POST", PATH, { body: {}, headers: { "x-request-id": "req-eval-2" } });
    expect(bad.res.headers.get("x-request-id")).toBe("req-eval-2");
    expect(bad.body.requestId).toBe("req-eval-2");
  });

  it("counts decisions by endpoint and result, times them, and logs one debug line per decision", async () => {
    const { lines, stream: sink } = logLines();
    const app = createApp({ ...t.deps, log: pino({ level: "debug" }, sink) });
    const count = async (result: string) =>
      (await metrics().decisions.get()).values.find(
        (v) => v.labels.endpoint === "evaluation" && v.labels.result === result,
      )?.value ?? 0;
    const [allow0, deny0] = [await count("allow"), await count("deny")];
    const call = (body: unknown) =>
      app.request(PATH, {
        method: "POST",
        body: JSON.stringify(body),
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${t.keys.decide}`,
          "x-request-id": "log-1",
        },
      });
    expect((await call(ask(org.admin, "can_view", "park", "park-1"))).status).toBe(200);
    expect((await call(ask(viewer, "can_use_vpn", "park", "park-1"))).status).toBe(200);
    expect(await count("allow")).toBe(allow0 + 1);
    expect(await count("deny")).toBe(deny0 + 1);
    const hist = await metrics().registry.getSingleMetricAsString("authz_decision_duration_seconds");
    expect(hist).toMatch(/authz_decision_duration_seconds_count\{endpoint="evaluation"\} \d+/);
    const decisions = lines.filter((l) => l.msg === "decision");
    expect(decisions).toHaveLength(2);
    expect(decisions[0]).toMatchObject({
      requestId: "log-1",
      subject: `user:${org.admin}`,
      action: "can_view",
      resource: "park:park-1",
      decision: true,
    });
    expect(decisions[1]).toMatchObject({ decision: false, action: "can_use_vpn" });
  });
});

describe("decisions: PDP metadata", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({
      config: { PUBLIC_BASE_URL: "https://pdp.example.com/", OPENFGA_TIMEOUT_MS: "5000" },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("serves /.well-known/authzen-configuration without a key, from PUBLIC_BASE_URL", async () => {
    const res = await t.json("GET", "/.well-known/authzen-configuration", { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      policy_decision_point: "https://pdp.example.com",
      access_evaluation_endpoint: "https://pdp.example.com/access/v1/evaluation",
      access_evaluations_endpoint: "https://pdp.example.com/access/v1/evaluations",
      search_subject_endpoint: "https://pdp.example.com/access/v1/search/subject",
      search_resource_endpoint: "https://pdp.example.com/access/v1/search/resource",
      search_action_endpoint: "https://pdp.example.com/access/v1/search/action",
    });
  });

  it("falls back to the request origin without PUBLIC_BASE_URL", async () => {
    const app = createApp({ ...t.deps, config: { ...t.config, PUBLIC_BASE_URL: undefined } });
    const res = await app.request("http://sidecar.internal:8787/.well-known/authzen-configuration");
    const body = await res.json();
    expect(body.policy_decision_point).toBe("http://sidecar.internal:8787");
    expect(body.search_action_endpoint).toBe("http://sidecar.internal:8787/access/v1/search/action");
  });
});
