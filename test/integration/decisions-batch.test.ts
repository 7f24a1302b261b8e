import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantTuples, parkTuples } from "../../src/kernel/tuples.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";

const PATH = "/access/v1/evaluations";
const PARKS = 4;
const park = (i: number) => ({ type: "park", id: `park-${i}` });
const user = (id: string) => ({ type: "user", id });

describe("decisions: POST /access/v1/evaluations", () => {
  let t: TestContext;
  let admin: string;
  let viewer: string;
  let orgId: string;
  const outsider = userId("outsider");
  const batch = (body: unknown) => t.json("POST", PATH, { body, key: "decide" });

  beforeAll(async () => {
    t = await createTestContext({
      config: { OPENFGA_TIMEOUT_MS: "5000", OPENFGA_SEARCH_TIMEOUT_MS: "20000" },
    });
    const org = await createOrg(t);
    admin = org.admin;
    orgId = org.id;
    viewer = await addMemberTo(t, org.id, "member");
    const writes = Array.from({ length: PARKS }, (_, i) =>
      parkTuples({ id: `park-${i}`, organizationId: org.id, portfolioId: org.portfolioId }),
    ).flat();
    writes.push(
      ...grantTuples({
        resourceType: "park",
        resourceId: "park-1",
        userId: viewer,
        level: "viewer",
        cooperationId: null,
      }),
    );
    await t.engine.write({ writes, deletes: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("uses top-level defaults and replaces whole entities per item (no deep merge), in request order", async () => {
    const org = { type: "organization", id: orgId };
    const res = await batch({
      subject: user(admin),
      action: { name: "can_view" },
      resource: org,
      evaluations: [
        {},
        { subject: user(viewer) },
        { subject: user(viewer), action: { name: "can_manage_members" } },
        { subject: user(outsider) },
        // Only `id`: a deep merge would keep the type; a whole-entity override lacks it.
        { resource: { id: orgId } },
        { action: { name: "can_manage_members" } },
      ],
    });
    expect(res.status).toBe(200);
    const [a, b, c, d, e, f] = res.body.evaluations;
    expect([a, b, c, d, f]).toEqual([
      { decision: true },
      { decision: true },
      { decision: false },
      { decision: false },
      { decision: true },
    ]);
    expect(e.decision).toBe(false);
    expect(e.context.error.status).toBe(400);
    expect(e.context.error.message).toMatch(/resource\.type/);
  });

  it("R-G4: answers bad items with decision false and the error in their context; clean items carry none", async () => {
    const res = await batch({
      subject: user(admin),
      evaluations: [
        { action: { name: "can_view" }, resource: { type: "organization", id: orgId } },
        { resource: park(1) },
        { action: { name: "can_view" }, resource: { type: "park", id: "bad id" } },
        { action: { name: 7 }, resource: park(1) },
        { action: { name: "lvl_operator" }, resource: park(1) },
        { action: { name: "can_manage_members" }, resource: { type: "organization", id: orgId } },
      ],
    });
    expect(res.status).toBe(200);
    const ev = res.body.evaluations;
    expect(ev).toHaveLength(6);
    expect(ev[0]).toEqual({ decision: true });
    for (const i of [1, 2, 3]) {
      expect(ev[i].decision).toBe(false);
      expect(ev[i].context.error).toMatchObject({ status: 400, message: expect.any(String) });
    }
    // An internal relation is a plain deny, not an error.
    expect(ev[4]).toEqual({ decision: false });
    expect(ev[5]).toEqual({ decision: true });
  });

  it("deny_on_first_deny stops after the first deny; answers everything when all permit", async () => {
    const items = [user(admin), user(admin), user(outsider), user(admin)].map((subject) => ({ subject }));
    const base = {
      action: { name: "can_view" },
      resource: park(1),
      options: { evaluations_semantic: "deny_on_first_deny" },
    };
    const stopped = await batch({ ...base, evaluations: items });
    expect(stopped.body.evaluations).toEqual([{ decision: true }, { decision: true }, { decision: false }]);
    const all = await batch({ ...base, evaluations: [items[0], items[1], items[3]] });
    expect(all.body.evaluations).toEqual([{ decision: true }, { decision: true }, { decision: true }]);
    // A bad item counts as a deny.
    const bad = await batch({ ...base, evaluations: [items[0], { subject: { type: "user" } }, items[1]] });
    expect(bad.body.evaluations).toHaveLength(2);
    expect(bad.body.evaluations[1].context.error.status).toBe(400);
  });

  it("permit_on_first_permit stops after the first permit; answers everything when none permits", async () => {
    const items = [user(outsider), user(viewer), user(admin), user(outsider)].map((subject) => ({ subject }));
    const base = {
      action: { name: "can_manage_members" },
      resource: { type: "organization", id: orgId },
      options: { evaluations_semantic: "permit_on_first_permit" },
    };
    const stopped = await batch({ ...base, evaluations: items });
    expect(stopped.body.evaluations).toEqual([{ decision: false }, { decision: false }, { decision: true }]);
    const none = await batch({ ...base, evaluations: [items[0], items[1], items[3]] });
    expect(none.body.evaluations).toEqual([{ decision: false }, { decision: false }, { decision: false }]);
  });

  it("execute_all is the default and answers every item", async () => {
    const items = [user(outsider), user(admin), user(outsider)].map((subject) => ({ subject }));
    const body = {
      action: { name: "can_view" },
      resource: { type: "organization", id: orgId },
      evaluations: items,
    };
    const implicit = await batch(body);
    const explicit = await batch({ ...body, options: { evaluations_semantic: "execute_all" } });
    const expected = [{ decision: false }, { decision: true }, { decision: false }];
    expect(implicit.body.evaluations).toEqual(expected);
    expect(explicit.body.evaluations).toEqual(expected);
  });

  it("chunks more than 50 items through BatchCheck and keeps request order", async () => {
    // Organization can_view is a cheap check: the point here is chunking and order, not the model.
    const n = 150;
    const evaluations = Array.from({ length: n }, (_, i) => ({
      subject: user(i % 3 === 0 ? admin : outsider),
    }));
    const base = { action: { name: "can_view" }, resource: { type: "organization", id: orgId } };
    const res = await batch({ ...base, evaluations });
    expect(res.status).toBe(200);
    expect(res.body.evaluations.filter((e: { context?: unknown }) => e.context)).toEqual([]);
    expect(res.body.evaluations.map((e: { decision: boolean }) => e.decision)).toEqual(
      evaluations.map((_, i) => i % 3 === 0),
    );
    // The short-circuit semantics run chunk by chunk and still stop exactly at the first deny.
    const allAdmin = evaluations.map((_, i) => ({ subject: user(i === 120 ? outsider : admin) }));
    const stopped = await batch({
      ...base,
      options: { evaluations_semantic: "deny_on_first_deny" },
      evaluations: allAdmin,
    });
    expect(stopped.body.evaluations).toHaveLength(121);
    expect(stopped.body.evaluations.slice(0, 120).every((e: { decision: boolean }) => e.decision)).toBe(true);
    expect(stopped.body.evaluations[120]).toEqual({ decision: false });
  });

  it("refuses more than MAX_BATCH_EVALUATIONS items with 400", async () => {
    const evaluations = Array.from({ length: t.config.MAX_BATCH_EVALUATIONS + 1 }, () => ({}));
    const res = await batch({
      subject: user(admin),
      action: { name: "can_view" },
      resource: park(1),
      evaluations,
    });
    expect([res.status, res.body.code]).toEqual([400, "too-many-evaluations"]);
    expect(res.body.errors[0].path).toBe("evaluations");
  });

  it("without items behaves as one evaluation (AuthZEN §7.1) and then needs every field", async () => {
    const one = await batch({ subject: user(admin), action: { name: "can_view" }, resource: park(1) });
    expect([one.status, one.body]).toEqual([200, { decision: true }]);
    const empty = await batch({
      subject: user(outsider),
      action: { name: "can_view" },
      resource: park(1),
      evaluations: [],
    });
    expect(empty.body).toEqual({ decision: false });
    const missing = await batch({ subject: user(admin), action: { name: "can_view" } });
    expect([missing.status, missing.body.code]).toEqual([400, "invalid-request"]);
    expect(missing.body.errors.map((e: { path: string }) => e.path)).toContain("resource");
  });

  it("R-G4: refuses wrongly typed top-level fields, options and items with 400", async () => {
    const good = { subject: user(admin), action: { name: "can_view" }, resource: park(1) };
    for (const [body, path] of [
      [{ ...good, evaluations: {} }, "evaluations"],
      [{ ...good, evaluations: [5] }, "evaluations.0"],
      [
        { ...good, evaluations: [{}], options: { evaluations_semantic: "first_wins" } },
        "options.evaluations_semantic",
      ],
      [{ ...good, evaluations: [{}], subject: "alice" }, "subject"],
    ] as const) {
      const res = await batch(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe("invalid-request");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const notObject = await t.json("POST", PATH, { body: "[]", key: "decide" });
    expect([notObject.status, notObject.body.code]).toEqual([400, "body-not-object"]);
    const wrongType = await t.json("POST", PATH, {
      body: "{}",
      key: "decide",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(wrongType.status).toBe(415);
    const echoed = await t.json("POST", PATH, {
      body: "{",
      key: "decide",
      headers: { "x-request-id": "batch-1" },
    });
    expect([echoed.status, echoed.body.code]).toEqual([400, "malformed-json"]);
    expect(echoed.res.headers.get("x-request-id")).toBe("batch-1");
  });
});
