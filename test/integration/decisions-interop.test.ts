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

  it("reports engine item errors in the item's context and keeps clean items bare", async () => {
    const res = await post("evaluations", {
      subject: { type: "user", id: RICK },
      resource: { type: "todo", id: "1" },
      evaluations: [
        { action: { name: "can_delete_todo" } },
        { action: { name: "can_fly" } },
        { action: { name: "can_read_todos" }, resource: { type: "app", id: "todo" } },
      ],
    });
    expect(res.status).toBe(200);
    const [a, b, c] = res.body.evaluations;
    expect(a).toEqual({ decision: true });
    expect(b.decision).toBe(false);
    expect(b.context.error).toMatchObject({ status: 400, message: expect.stringContaining("can_fly") });
    expect(c).toEqual({ decision: true });
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
