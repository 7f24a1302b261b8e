import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { Engine } from "../../src/engine/client.js";
import { generateApiKey } from "../../src/http/auth.js";
import { loadTuplesFile, type RunningService, startService } from "../../src/server.js";
import { createTestContext, type TestContext } from "../support/app.js";

const MODEL = "test/fixtures/interop/todo.fga";
const TUPLES = "test/fixtures/interop/todo.tuples.yaml";
const RICK = "rick@the-citadel.com";
const MORTY = "morty@the-citadel.com";
const BETH = "beth@the-smiths.com";
const SUMMER = "summer@the-smiths.com";
const ev = (subject: string, action: string, type: string, id: string) => ({
  subject: { type: "user", id: subject },
  action: { name: action },
  resource: { type, id },
});

describe("decisions with a custom MODEL_FILE (works with any model)", () => {
  let t: TestContext;
  const post = (path: string, body: unknown) => t.json("POST", `/access/v1/${path}`, { body, key: "decide" });
  const decide = async (body: unknown) => {
    const res = await post("evaluation", body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.decision;
  };

  beforeAll(async () => {
    t = await createTestContext({
      modelFile: MODEL,
      config: { OPENFGA_TIMEOUT_MS: "5000", OPENFGA_SEARCH_TIMEOUT_MS: "20000" },
    });
    await t.engine.write({ writes: await loadTuplesFile(TUPLES), deletes: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers any relation of the custom model", async () => {
    expect(await decide(ev(RICK, "can_delete_todo", "todo", "1"))).toBe(true);
    expect(await decide(ev(MORTY, "can_update_todo", "todo", "1"))).toBe(true);
    expect(await decide(ev(SUMMER, "can_update_todo", "todo", "1"))).toBe(false);
    expect(await decide(ev(BETH, "can_delete_todo", "todo", "2"))).toBe(false);
    expect(await decide(ev(BETH, "can_read_todos", "app", "todo"))).toBe(true);
    expect(await decide(ev(BETH, "can_create_todo", "app", "todo"))).toBe(false);
    expect(await decide(ev(MORTY, "owner", "todo", "1"))).toBe(true);
  });

  it("denies (200) what the engine refuses: unknown relations and types, malformed names and ids", async () => {
    expect(await decide(ev(RICK, "can_fly", "todo", "1"))).toBe(false);
    expect(await decide(ev(RICK, "can_delete_todo", "spaceship", "1"))).toBe(false);
    expect(await decide(ev(RICK, "parent#admin", "todo", "1"))).toBe(false);
    expect(await decide(ev(RICK, "can_delete_todo", "todo", "1 2"))).toBe(false);
    expect(
      await decide({ ...ev(RICK, "can_delete_todo", "todo", "1"), subject: { type: "app", id: "todo" } }),
    ).toBe(false);
  });

  it("answers items the engine refuses as a bare deny, as /evaluation does (exact JSON, no engine message)", async () => {
    const res = await post("evaluations", {
      subject: { type: "user", id: RICK },
      resource: { type: "todo", id: "1" },
      evaluations: [
        { action: { name: "can_delete_todo" } },
        { action: { name: "can_fly" } },
        { action: { name: "can_read_todos" }, resource: { type: "app", id: "todo" } },
        { action: { name: "can_delete_todo" }, resource: { type: "todo", id: "x".repeat(300) } },
        { action: { name: "can_delete_todo" }, resource: { type: "todo", id: "a:b" } },
        { action: { name: "parent#admin" } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.evaluations).toEqual([
      { decision: true },
      { decision: false },
      { decision: true },
      { decision: false },
      { decision: false },
      { decision: false },
    ]);
  });

  it("action search on an id the engine refuses holds no action (200, never a 5xx)", async () => {
    for (const body of [
      { subject: { type: "user", id: RICK }, resource: { type: "todo", id: "x".repeat(300) } },
      { subject: { type: "user", id: "x".repeat(600) }, resource: { type: "todo", id: "1" } },
      { subject: { type: "user", id: RICK }, resource: { type: "spaceship", id: "1" } },
    ]) {
      const res = await post("search/action", body);
      expect([res.status, res.body.results]).toEqual([200, []]);
    }
  });

  it("searches resources, subjects and actions of the custom model", async () => {
    const resources = await post("search/resource", {
      subject: { type: "user", id: RICK },
      action: { name: "can_delete_todo" },
      resource: { type: "todo" },
    });
    expect(resources.body.results).toEqual([
      { type: "todo", id: "1" },
      { type: "todo", id: "2" },
    ]);
    const subjects = await post("search/subject", {
      subject: { type: "user" },
      action: { name: "can_update_todo" },
      resource: { type: "todo", id: "1" },
    });
    expect(subjects.body.results).toEqual([
      { type: "user", id: MORTY },
      { type: "user", id: RICK },
    ]);
    const actions = await post("search/action", {
      subject: { type: "user", id: MORTY },
      resource: { type: "todo", id: "1" },
    });
    expect(actions.body.results.map((r: { name: string }) => r.name).sort()).toEqual([
      "can_delete_todo",
      "can_update_todo",
      "owner",
    ]);
  });

  it("turns the management API off (404 management-disabled)", async () => {
    const res = await t.json("GET", "/v1/me", { key: "both", actor: RICK });
    expect([res.status, res.body.code]).toEqual([404, "management-disabled"]);
  });
});

describe("properties and request time in a custom model's conditions", () => {
  let t: TestContext;
  const post = (path: string, body: unknown) => t.json("POST", `/access/v1/${path}`, { body, key: "decide" });
  const owner = (who: string, properties?: Record<string, unknown>) => ({
    subject: { type: "user", id: who },
    action: { name: "owner" },
    resource: { type: "todo", id: "1", ...(properties ? { properties } : {}) },
  });

  beforeAll(async () => {
    t = await createTestContext({ modelFile: "test/fixtures/interop/owner-property.fga" });
    const cond = (name: string, context: Record<string, unknown>) => ({ name, context });
    await t.engine.write({
      writes: [
        {
          user: "user:rick",
          relation: "owner",
          object: "todo:1",
          condition: cond("owner_is", { owner_email: "rick@x" }),
        },
        {
          user: "user:rick",
          relation: "editor",
          object: "todo:1",
          condition: cond("before", { until: "2000-01-01T00:00:00Z" }),
        },
        {
          user: "user:morty",
          relation: "editor",
          object: "todo:1",
          condition: cond("before", { until: "2999-01-01T00:00:00Z" }),
        },
      ],
      deletes: [],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("resource.properties.ownerID reaches the condition as resource_ownerID; without it, a deny (200)", async () => {
    const decide = async (body: unknown) => {
      const res = await post("evaluation", body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    expect(await decide(owner("rick", { ownerID: "rick@x" }))).toEqual({ decision: true });
    expect(await decide(owner("rick", { ownerID: "morty@x" }))).toEqual({ decision: false });
    expect(await decide(owner("rick"))).toEqual({ decision: false });
    // The request context wins over a property of the same prefixed name.
    expect(
      await decide({ ...owner("rick", { ownerID: "morty@x" }), context: { resource_ownerID: "rick@x" } }),
    ).toEqual({ decision: true });
    const batch = await post("evaluations", {
      evaluations: [owner("rick", { ownerID: "rick@x" }), owner("rick"), owner("rick", { ownerID: 5 })],
    });
    expect([batch.status, batch.body]).toEqual([
      200,
      { evaluations: [{ decision: true }, { decision: false }, { decision: false }] },
    ]);
  });

  it("searches pass the properties too", async () => {
    const resources = await post("search/resource", {
      subject: { type: "user", id: "rick" },
      action: { name: "owner" },
      resource: { type: "todo", properties: { ownerID: "rick@x" } },
    });
    expect(resources.body.results).toEqual([{ type: "todo", id: "1" }]);
    const subjects = await post("search/subject", {
      subject: { type: "user" },
      action: { name: "owner" },
      resource: { type: "todo", id: "1", properties: { ownerID: "rick@x" } },
    });
    expect(subjects.body.results).toEqual([{ type: "user", id: "rick" }]);
    const actions = await post("search/action", {
      subject: { type: "user", id: "rick" },
      resource: { type: "todo", id: "1", properties: { ownerID: "rick@x" } },
    });
    expect(actions.body.results).toEqual([{ name: "owner" }]);
  });

  it("the request time is the sidecar's: a caller's current_time (context or property) never moves it", async () => {
    const editor = (who: string, extra: Record<string, unknown>) => ({
      subject: { type: "user", id: who, properties: { current_time: "1999-01-01T00:00:00Z" } },
      action: { name: "editor" },
      resource: { type: "todo", id: "1" },
      ...extra,
    });
    const past = { context: { current_time: "1999-01-01T00:00:00Z" } };
    expect((await post("evaluation", editor("rick", past))).body).toEqual({ decision: false });
    expect((await post("evaluation", editor("morty", past))).body).toEqual({ decision: true });
    const batch = await post("evaluations", { evaluations: [editor("rick", past), editor("morty", past)] });
    expect(batch.body).toEqual({ evaluations: [{ decision: false }, { decision: true }] });
  });
});

describe("startService with MODEL_FILE and TUPLES_FILE", () => {
  let svc: RunningService | undefined;
  const storeName = `interop-${randomUUID().slice(0, 8)}`;
  const key = generateApiKey();

  beforeAll(async () => {
    const config = loadConfig({
      MODEL_FILE: MODEL,
      TUPLES_FILE: TUPLES,
      OPENFGA_API_URL: inject("openfgaUrl"),
      OPENFGA_STORE_NAME: storeName,
      OPENFGA_TIMEOUT_MS: "5000",
      PORT: "0",
      METRICS_PORT: "0",
      API_KEYS: `interop:decide+manage:${key.hash}`,
      LOG_LEVEL: "silent",
      RECONCILE_INTERVAL_S: "0",
    });
    svc = await startService(config, pino({ level: "silent" }));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await fetch(`${svc.url}/readyz`).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`not ready: ${await r?.text()}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  });
  afterAll(async () => {
    await svc?.stop();
    const engine = new Engine({ apiUrl: inject("openfgaUrl"), timeoutMs: 5000, searchTimeoutMs: 5000 });
    const stores = await engine.admin.listStores({ pageSize: 100, name: storeName }).catch(() => undefined);
    for (const s of stores?.stores ?? []) {
      if (s.name === storeName) await engine.admin.deleteStore({ storeId: s.id }).catch(() => {});
    }
  });

  it("serves decisions for the loaded model over HTTP; management answers 404 management-disabled", async () => {
    const url = svc!.url;
    const headers = { "content-type": "application/json", authorization: `Bearer ${key.key}` };
    const ask = async (body: unknown) => {
      const r = await fetch(`${url}/access/v1/evaluation`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(200);
      return (await r.json()).decision;
    };
    expect(await ask(ev(RICK, "can_delete_todo", "todo", "2"))).toBe(true);
    expect(await ask(ev(SUMMER, "can_update_todo", "todo", "2"))).toBe(true);
    expect(await ask(ev(MORTY, "can_update_todo", "todo", "2"))).toBe(false);
    const me = await fetch(`${url}/v1/me`, { headers: { ...headers, "x-actor-id": RICK } });
    expect(me.status).toBe(404);
    expect((await me.json()).code).toBe("management-disabled");
    const meta = await (await fetch(`${url}/.well-known/authzen-configuration`)).json();
    expect(meta.access_evaluation_endpoint).toBe(`${url}/access/v1/evaluation`);
  });
});
