import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapEngine, loadModelFile } from "../../src/engine/bootstrap.js";
import { Engine } from "../../src/engine/client.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg } from "../support/factories.js";

describe("foundation", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("serves /healthz and /readyz without a key", async () => {
    expect((await t.request("GET", "/healthz", { key: null })).status).toBe(200);
    const ready = await t.json("GET", "/readyz", { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: "ok", engine: "ok", model: "ok" });
  });

  it("answers unknown routes with 404 problem+json", async () => {
    const res = await t.json("GET", "/nope", { key: null });
    expect(res.status).toBe(404);
    expect(res.res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("not-found");
  });

  it("echoes X-Request-ID and generates one otherwise", async () => {
    const echoed = await t.request("GET", "/healthz", { key: null, headers: { "x-request-id": "abc-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("abc-123");
    const generated = await t.request("GET", "/healthz", { key: null });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses wrong content types, malformed JSON, non-object and oversize bodies", async () => {
    const path = "/access/v1/evaluation";
    const wrongType = await t.json("POST", path, { body: "x=1", headers: { "content-type": "text/plain" } });
    expect([wrongType.status, wrongType.body.code]).toEqual([415, "unsupported-media-type"]);
    const malformed = await t.json("POST", path, { body: "{nope" });
    expect([malformed.status, malformed.body.code]).toEqual([400, "malformed-json"]);
    const notObject = await t.json("POST", path, { body: "[1,2]" });
    expect([notObject.status, notObject.body.code]).toEqual([400, "body-not-object"]);
    const big = await t.json("POST", path, { body: JSON.stringify({ pad: "x".repeat(70 * 1024) }) });
    expect([big.status, big.body.code]).toEqual([413, "payload-too-large"]);
  });

  it("serves an OpenAPI 3.1 document and the docs page (test/integration/security.test.ts checks its routes)", async () => {
    const doc = await t.json("GET", "/openapi.json", { key: null });
    expect([doc.status, doc.body.openapi]).toEqual([200, "3.1.0"]);
    const docs = await t.request("GET", "/docs", { key: null });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });

  it("bootstraps the store and model idempotently across restarts", async () => {
    // A second engine client of its own: bootstrapping pins the client to the
    // new store, and the shared one must stay on this test's store.
    const engine = Engine.fromConfig(t.config, { apiUrl: t.engine.opts.apiUrl });
    const pinned = [t.engine.storeId, t.engine.modelId];
    const model = await loadModelFile();
    const name = `idem-${Date.now()}`;
    const first = await bootstrapEngine(engine, { storeName: name, model });
    const second = await bootstrapEngine(engine, { storeName: name, model });
    expect(first.createdStore).toBe(true);
    expect(first.wroteModel).toBe(true);
    expect(second).toMatchObject({
      storeId: first.storeId,
      modelId: first.modelId,
      createdStore: false,
      wroteModel: false,
    });
    await engine.admin.deleteStore({ storeId: first.storeId });
    engine.close();
    expect([t.engine.storeId, t.engine.modelId]).toEqual(pinned);
  });

  it("creates organizations through the service layer with engine tuples", async () => {
    const org = await createOrg(t);
    const allowed = await t.engine.check({
      user: `user:${org.admin}`,
      relation: "can_manage_members",
      object: `organization:${org.id}`,
    });
    expect(allowed).toBe(true);
    const audit =
      await t.sql`select action from audit_events where ${org.id} = any(organization_ids) order by id`;
    expect(audit.map((r) => r.action)).toEqual(["organization.created", "member.added", "portfolio.created"]);
  });
});
