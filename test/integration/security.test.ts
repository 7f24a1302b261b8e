import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../support/app.js";

/**
 * The one security suite (STYLE.md "Tests"): generated from the app's own
 * route table, so a new route is covered the day it is registered. Every
 * `/v1` management route refuses a missing key (401), a key without the
 * `manage` scope (403 insufficient-scope) and a call without X-Actor-Id (400
 * actor-required); every decision route (`/access/v1`, forward-auth) the
 * reverse scope check; and every route is described in /openapi.json.
 */

interface Route {
  method: string;
  /** The hono path (`:param`). */
  path: string;
  /** The same path in OpenAPI form (`{param}`). */
  docPath: string;
}

/** Routes without a key (operations and AuthZEN discovery). */
const PUBLIC = new Set([
  "/healthz",
  "/readyz",
  "/openapi.json",
  "/docs",
  "/.well-known/authzen-configuration",
]);

/** Decision routes: the `decide` scope, no actor. */
const isDecision = (path: string) =>
  path.startsWith("/access/v1/") || path === "/v1/forward-auth" || path.startsWith("/v1/forward-auth/");

function routeTable(t: TestContext): Route[] {
  const seen = new Map<string, Route>();
  for (const r of t.app.routes) {
    // Middleware (app.use) is registered with method ALL; so is the forward-auth
    // path_prefix catch-all, documented on /v1/forward-auth itself.
    if (r.method === "ALL") continue;
    const docPath = r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path, docPath });
  }
  return [...seen.values()];
}

/** A concrete URL for a route: every path parameter is a plain id. */
const urlOf = (r: Route) => r.path.replace(/:([A-Za-z0-9_]+)/g, "x1");

/** An empty JSON body where the method takes one: the checks come before validation. */
const bodyOf = (r: Route) => (r.method === "GET" || r.method === "HEAD" ? undefined : {});

/** The route, with the status and problem code it answered (the route is in the message when it fails). */
function expectAnswer(
  r: { method: string; path: string },
  res: { status: number; body?: { code?: unknown } },
  status: number,
  code: string,
) {
  expect([r.method, r.path, res.status, res.body?.code]).toEqual([r.method, r.path, status, code]);
}

describe("security suite over every route", () => {
  let t: TestContext;
  let routes: Route[];
  beforeAll(async () => {
    t = await createTestContext();
    routes = routeTable(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const management = () => routes.filter((r) => r.path.startsWith("/v1/") && !isDecision(r.path));
  const decisions = () => routes.filter((r) => isDecision(r.path));

  it("finds the routes of every module in the route table", () => {
    const prefixes = new Set(routes.map((r) => r.path.split("/").slice(0, 3).join("/")));
    for (const p of ["/access/v1", "/v1/me", "/v1/organizations", "/v1/parks", "/v1/cooperations"])
      expect(prefixes, p).toContain(p);
    expect(management().length).toBeGreaterThan(30);
    expect(decisions().length).toBeGreaterThanOrEqual(6);
    // Every route is one of: public, decision, management.
    for (const r of routes) {
      expect(PUBLIC.has(r.path) || r.path.startsWith("/v1/") || isDecision(r.path), r.path).toBe(true);
    }
  });

  it("every route is described in /openapi.json, and every described route is served", async () => {
    const doc = await t.json("GET", "/openapi.json", { key: null });
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, unknown>>;
    for (const r of routes) {
      expect(paths[r.docPath]?.[r.method.toLowerCase()], `${r.method} ${r.docPath}`).toBeDefined();
    }
    expect(paths["/metrics"]?.get, "GET /metrics (metrics listener)").toBeDefined();
    const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${r.docPath}`));
    for (const [path, ops] of Object.entries(paths)) {
      for (const method of Object.keys(ops)) {
        // /metrics is on the metrics listener (src/metrics-server.ts), not this app.
        if (path === "/metrics") continue;
        expect(served, `${method} ${path}`).toContain(`${method} ${path}`);
      }
    }
  });

  it("public routes answer without a key", async () => {
    for (const r of routes.filter((r) => PUBLIC.has(r.path))) {
      const res = await t.request(r.method, urlOf(r), { key: null });
      expect([r.method, r.path, res.status]).toEqual([r.method, r.path, 200]);
    }
  });

  it("every management route: 401 without a key or with a wrong one", async () => {
    for (const r of management()) {
      for (const key of [null, { raw: "azs_wrong" }] as const) {
        const res = await t.json(r.method, urlOf(r), { key, actor: "someone", body: bodyOf(r) });
        expectAnswer(r, res, 401, "unauthenticated");
        expect(res.res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
    }
  });

  it("every management route: 403 insufficient-scope with a decide-only key", async () => {
    for (const r of management()) {
      const res = await t.json(r.method, urlOf(r), { key: "decide", actor: "someone", body: bodyOf(r) });
      expectAnswer(r, res, 403, "insufficient-scope");
    }
  });

  it("every management route: 400 actor-required without X-Actor-Id", async () => {
    for (const r of management()) {
      const res = await t.json(r.method, urlOf(r), { key: "manage", body: bodyOf(r) });
      expectAnswer(r, res, 400, "actor-required");
    }
  });

  it("every decision route: 401 without a key, 403 insufficient-scope with a manage-only key", async () => {
    for (const r of decisions()) {
      const none = await t.json(r.method, urlOf(r), { key: null, body: bodyOf(r) });
      expectAnswer(r, none, 401, "unauthenticated");
      const manage = await t.json(r.method, urlOf(r), { key: "manage", body: bodyOf(r) });
      expectAnswer(r, manage, 403, "insufficient-scope");
    }
  });

  it("the forward-auth path_prefix form needs the decide scope too", async () => {
    const res = await t.json("GET", "/v1/forward-auth/some/path", { key: "manage" });
    expect([res.status, res.body.code]).toEqual([403, "insufficient-scope"]);
  });

  it("nothing a refused call touched changed", async () => {
    const [row] = await t.sql`select count(*)::int as n from audit_events`;
    expect(row?.n).toBe(0);
  });
});
