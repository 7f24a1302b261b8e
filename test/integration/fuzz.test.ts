import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestContext } from "../support/app.js";
import { createOrg } from "../support/factories.js";
import { activeCooperation, context } from "../support/org-factories.js";
import { createPark } from "../support/resource-factories.js";

/**
 * R-G4 by property: every route of the OpenAPI document, with fuzzed path
 * parameters, query and body (wrong types, huge and unicode strings, NUL, lone
 * surrogates, prototype keys, crafted cursors, oversized and non-JSON
 * bodies). No answer is a 5xx, and a refused change (4xx) changes nothing in
 * the database or the engine.
 */

/** encodeURIComponent, except that a lone surrogate goes out as its raw (WTF-8) bytes. */
function enc(s: string): string {
  return s.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\s\S]/gu,
    (ch) => {
      const u = ch.charCodeAt(0);
      if (ch.length === 1 && u >= 0xd800 && u <= 0xdfff)
        return [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)]
          .map((b) => `%${b.toString(16).toUpperCase()}`)
          .join("");
      return encodeURIComponent(ch);
    },
  );
}

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** Strings that broke the service before, and their relatives. */
const NASTY = [
  "",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfff",
  "\udc00\ud800",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  ".",
  "..",
  "a:b",
  "park",
  "organization",
  "can_view",
  "x".repeat(5000),
  "😀".repeat(300),
  "' or 1=1 --",
  "%00",
  "null",
  "2020-13-45T99:99:99Z",
  b64({ c: "2020-01-01T00:00:00Z", i: "\u0000" }),
  b64({ c: "9999-99-99", i: "x" }),
  b64({ c: "+275760-09-13T00:00:00.000Z", i: "x" }),
  b64({ c: 1, i: 2 }),
  b64({ createdAt: "2020-01-01T00:00:00Z", id: "\ud800" }),
  b64(["a", "b"]),
  b64("a:99999999999999999999999"),
  b64("m:\u0000"),
  b64("a:0"),
  b64("not json"),
  "!!!notbase64",
  b64({ c: "1", i: "x" }),
  b64({ c: "2020-02-30T00:00:00Z", i: "x" }),
  b64({ c: "2020-01-01T00:00:00Z", i: "a\u0000" }),
  b64(["2020-13-45 99:99:99Z", "x"]),
  b64(["2020-01-01T00:00:00Z", "\u0000"]),
  b64(["0000-01-01T00:00:00Z", "x"]),
  b64("a:9999999999999999999"),
];

const str = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    str,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(str, fc.constantFrom("__proto__", "constructor")), tie("v"), { maxKeys: 4 }),
  ),
})).v;

/** A valid body per route, so mutations reach past the first validation. */
function templates(v: Record<string, string>): Record<string, unknown> {
  const subject = { type: "user", id: "alice" };
  const resource = { type: "park", id: v.parkId };
  const action = { name: "can_view" };
  return {
    "POST /access/v1/evaluation": { subject, action, resource },
    "POST /access/v1/evaluations": {
      subject,
      evaluations: [
        { action, resource },
        { action, resource },
      ],
    },
    "POST /access/v1/search/subject": { subject: { type: "user" }, action, resource },
    "POST /access/v1/search/resource": { subject, action, resource: { type: "park" } },
    "POST /access/v1/search/action": { subject, resource },
    "PATCH /v1/organizations/{orgId}": { name: "Renamed" },
    "PUT /v1/organizations/{orgId}/members/{userId}/role": { role: "member" },
    "PUT /v1/portfolios/{portfolioId}": { organizationId: v.orgId, name: "P" },
    "PUT /v1/parks/{parkId}": { portfolioId: v.portfolioId, name: "Park" },
    "PUT /v1/parks/{id}/grants/{userId}": { level: "viewer" },
    "PUT /v1/portfolios/{id}/grants/{userId}": { level: "viewer" },
    "PUT /v1/cooperations/{coopId}/shares/{type}/{id}": { level: "viewer" },
    "PATCH /v1/cooperations/{coopId}": { expiresAt: null },
    "POST /v1/invitations": {
      type: "organization",
      organizationId: v.orgId,
      email: "a@b.example",
      role: "member",
    },
    "POST /v1/invitations/accept": { token: "t", organizationName: "O" },
    "POST /v1/invitations/decline": { token: "t" },
    "POST /v1/invitations/preview": { token: "t" },
    "PUT /v1/platform/staff/{userId}": { role: "support" },
  };
}

/** Every leaf path of a JSON value (keys and array indexes). */
function leaves(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => [
      [...at, Array.isArray(v) ? Number(k) : k],
      ...leaves(x, [...at, Array.isArray(v) ? Number(k) : k]),
    ]);
  return [];
}

function mutate(template: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(template) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

describe("R-G4 fuzz: no 5xx on any route, and a refusal changes nothing", () => {
  let t: TestContext;
  let routes: { method: string; path: string; params: string[]; query: string[]; body: boolean }[];
  let valid: Record<string, string>;
  let admin: string;

  beforeAll(async () => {
    t = await context();
    const org = await createOrg(t);
    const partner = await createOrg(t);
    admin = org.admin;
    const park = await createPark(t, org.admin, org.portfolioId);
    const coop = await activeCooperation(t, org.id, partner.id, [
      { resource: { type: "portfolio", id: org.portfolioId }, level: "viewer" },
    ]);
    valid = {
      orgId: org.id,
      userId: org.admin,
      portfolioId: org.portfolioId,
      parkId: park,
      id: park,
      coopId: coop.id,
      type: "park",
      invitationId: "00000000-0000-0000-0000-000000000000",
    };
    const doc = (await t.json("GET", "/openapi.json", { key: null })).body;
    routes = [];
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const params = (op.parameters ?? []) as { in: string; name: string }[];
        routes.push({
          method: method.toUpperCase(),
          path,
          params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
          query: params.filter((p) => p.in === "query").map((p) => p.name),
          body: Boolean(op.requestBody),
        });
      }
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A fingerprint of every table and every engine tuple. */
  async function state(): Promise<string> {
    const tables = await t.sql`select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not in ('users', 'schema_migrations')
      order by 1`;
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const [r] = await t.sql.unsafe(`select md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as h
        from "${table_name}" x`);
      parts.push(`${table_name}:${r!.h}`);
    }
    const tuples: string[] = [];
    for await (const tu of t.engine.readAll()) tuples.push(JSON.stringify(tu));
    return `${parts.join(";")}|${tuples.sort().join(";")}`;
  }

  it("answers every fuzzed request below 500; refused changes leave database and engine as they were", async () => {
    expect(routes.length).toBeGreaterThan(40);
    const request = fc.record({
      route: fc.integer({ min: 0, max: 1000 }),
      fuzzParam: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      pathValues: fc.array(str, { minLength: 4, maxLength: 4 }),
      query: fc.dictionary(fc.constantFrom("limit", "cursor", "direction", "status", "organizationId"), str, {
        maxKeys: 3,
      }),
      leaf: fc.nat(),
      mutation: fc.oneof(str, value),
      body: fc.oneof(
        { weight: 4, arbitrary: fc.constant("template") },
        { weight: 2, arbitrary: value },
        { weight: 1, arbitrary: fc.constantFrom("{nope", "[1,2]", "\u0000", '{"a":1}'.repeat(9000), "null") },
      ),
      actor: fc.oneof(fc.constant(undefined), fc.constantFrom("..", ".", "a:b", "__proto__")),
    });
    const bodies = templates(valid);
    for (const key of Object.keys(bodies))
      expect(
        routes.some((r) => `${r.method} ${r.path}` === key),
        key,
      ).toBe(true);
    let before = await state();
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const route = routes[r.route % routes.length]!;
        // A string body goes out raw (mostly not JSON); anything else as JSON.
        let path = route.path;
        route.params.forEach((p, i) => {
          const v = r.fuzzParam[i] ? r.pathValues[i]! : (valid[p] ?? "x");
          path = path.replace(`{${p}}`, enc(v));
        });
        const qs = Object.entries(r.query)
          .map(([k, v]) => `${k}=${enc(v)}`)
          .join("&");
        const template = bodies[`${route.method} ${route.path}`];
        let chosen: unknown = r.body;
        if (r.body === "template") {
          const paths = template === undefined ? [] : leaves(template);
          chosen = paths.length ? mutate(template, paths[r.leaf % paths.length]!, r.mutation) : r.mutation;
        }
        const body = route.body || route.method !== "GET" ? chosen : undefined;
        const res = await t.request(route.method, qs ? `${path}?${qs}` : path, {
          actor: r.actor ?? admin,
          body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        });
        const text = await res.text();
        if (res.status >= 500)
          failures.push(`${route.method} ${path}?${qs} ${res.status} ${text.slice(0, 300)}`);
        expect(res.status, `${route.method} ${path} → ${text.slice(0, 300)}`).toBeLessThan(500);
        if (route.method !== "GET" && res.status >= 400) {
          const after = await state();
          expect(
            after === before,
            `${route.method} ${path} refused with ${res.status} but changed state`,
          ).toBe(true);
        } else if (route.method !== "GET") before = await state();
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 800), endOnFailure: true },
    );
    expect(failures).toEqual([]);
  }, 240_000);

  it("R-G4 the seven causes found by the black-box fuzz are 4xx (or a deny), with a field error for text", async () => {
    const decision = (type: string) =>
      t.json("POST", "/access/v1/evaluation", {
        key: "decide",
        body: {
          subject: { type: "user", id: "a" },
          action: { name: "can_view" },
          resource: { type, id: "p" },
        },
      });
    for (const type of ["__proto__", "constructor", "toString"]) {
      expect([type, (await decision(type)).status, (await decision(type)).body.decision]).toEqual([
        type,
        200,
        false,
      ]);
      const search = await t.json("POST", "/access/v1/search/action", {
        key: "decide",
        body: { subject: { type: "user", id: "a" }, resource: { type, id: "p" } },
      });
      expect([type, search.status, search.body.results]).toEqual([type, 200, []]);
    }
    const field = async (method: string, path: string, body: unknown, at: string) => {
      const r = await t.json(method, path, { actor: admin, body });
      expect([path, r.status, r.body.code]).toEqual([path, 400, "invalid-request"]);
      expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(at);
    };
    for (const bad of ["a\u0000b", "x\ud800", "\udfffy"]) {
      await field("PATCH", `/v1/organizations/${valid.orgId}`, { name: bad }, "name");
      await field("PUT", `/v1/parks/${valid.parkId}`, { portfolioId: valid.portfolioId, name: bad }, "name");
      await field(
        "PUT",
        `/v1/portfolios/${valid.portfolioId}`,
        { organizationId: valid.orgId, name: bad },
        "name",
      );
    }
    for (const id of [".", ".."]) {
      await field("PUT", "/v1/parks/p-dots", { portfolioId: id, name: "P" }, "portfolioId");
      const actor = await t.json("GET", "/v1/me", { actor: id });
      expect([actor.status, actor.body.code]).toEqual([400, "invalid-actor"]);
    }
    const cursors = [
      b64({ c: "1", i: "x" }),
      b64({ c: "2020-02-30T00:00:00Z", i: "x" }),
      b64({ c: "2020-01-01T00:00:00Z", i: "a\u0000" }),
      b64(["2020-13-45 99:99:99Z", "x"]),
      b64(["2020-01-01T00:00:00Z", "\u0000"]),
      b64("a:9999999999999999999"),
    ];
    for (const cursor of cursors) {
      for (const path of [
        `/v1/organizations/${valid.orgId}/cooperations?direction=outgoing&cursor=${cursor}`,
        `/v1/invitations?organizationId=${valid.orgId}&cursor=${cursor}`,
        `/v1/organizations/${valid.orgId}/audit-events?cursor=${cursor}`,
      ]) {
        const r = await t.json("GET", path, { actor: admin });
        expect([path, r.status, r.body.code]).toEqual([path, 400, "invalid-cursor"]);
      }
    }
  });
});
