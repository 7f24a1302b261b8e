import { describe, expect, it } from "vitest";
import type { TestContext } from "../support/app.js";
import { createOrg, userId } from "../support/factories.js";
import { activeCooperation, contextHooks, orgWithRoles } from "../support/org-factories.js";

const eventsUrl = (org: string, q = "") => `/v1/organizations/${org}/audit-events${q}`;

describe("audit events", () => {
  let t: TestContext;
  let org: Awaited<ReturnType<typeof orgWithRoles>>;
  contextHooks(async (c) => {
    t = c;
    org = await orgWithRoles(t);
  });

  it("R-A1 a change is recorded with actor, action, target, before/after, time and request id", async () => {
    const res = await t.request("PUT", `/v1/organizations/${org.id}/members/${org.ids.member}/role`, {
      actor: org.admin,
      body: { role: "external" },
      headers: { "x-request-id": "req-audit-1" },
    });
    expect(res.status).toBe(200);
    const list = await t.json("GET", eventsUrl(org.id, "?limit=1"), { actor: org.admin });
    expect(list.status).toBe(200);
    const [ev] = list.body.items;
    expect(ev).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      actorId: org.admin,
      action: "member.role_changed",
      target: { type: "user", id: org.ids.member },
      before: { role: "member" },
      after: { role: "external" },
      requestId: "req-audit-1",
    });
    expect(Date.now() - Date.parse(ev.at)).toBeLessThan(60_000);
    expect(list.body.nextCursor).toEqual(expect.any(String));
  });

  it("R-A2 pages newest first with limit and an opaque cursor, without gaps or repeats", async () => {
    const all =
      await t.sql`select id from audit_events where ${org.id} = any(organization_ids) order by id desc`;
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await t.json("GET", eventsUrl(org.id, q), { actor: org.admin });
      expect(res.status).toBe(200);
      ids.push(...res.body.items.map((e: any) => e.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(ids).toEqual(all.map((r) => String(r.id)));
    expect(ids.length).toBeGreaterThan(6);
  });

  it("R-A2 only the organization's events; cooperation events reach both sides", async () => {
    const other = await createOrg(t);
    const coop = await activeCooperation(t, org.id, other.id, [
      { resource: { type: "portfolio", id: org.portfolioId }, level: "viewer" },
    ]);
    for (const [o, admin] of [
      [org.id, org.admin],
      [other.id, other.admin],
    ] as const) {
      const res = await t.json("GET", eventsUrl(o, "?limit=500"), { actor: admin });
      const coopEvents = res.body.items.filter((e: any) => e.target.id === coop.id).map((e: any) => e.action);
      expect(coopEvents).toEqual(["cooperation.activated", "cooperation.created"]);
    }
    const mine = await t.json("GET", eventsUrl(org.id, "?limit=500"), { actor: org.admin });
    expect(mine.body.items.some((e: any) => e.target.id === other.id)).toBe(false);
    const theirs = await t.json("GET", eventsUrl(other.id, "?limit=500"), { actor: other.admin });
    expect(theirs.body.items.some((e: any) => e.target.id === org.ids.moderator)).toBe(false);
  });

  it("needs can_view_audit_log (403); unknown organization 404; bad cursor or limit 400", async () => {
    for (const actor of [org.ids.moderator, org.ids.asset_manager_commercial, userId("x")]) {
      const res = await t.json("GET", eventsUrl(org.id), { actor });
      expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
    }
    const other = await createOrg(t);
    expect((await t.json("GET", eventsUrl(other.id), { actor: org.admin })).status).toBe(403);
    expect((await t.json("GET", eventsUrl("org_nope"), { actor: org.admin })).status).toBe(404);
    const memberCursor = Buffer.from("m:someone").toString("base64url");
    for (const q of ["?cursor=xyz", `?cursor=${memberCursor}`, "?limit=0", "?limit=1000"]) {
      const res = await t.json("GET", eventsUrl(org.id, q), { actor: org.admin });
      expect(res.status).toBe(400);
    }
  });

  it("R-A1 the database refuses UPDATE, DELETE and TRUNCATE of audit events", async () => {
    const before = await t.sql`select id, action from audit_events order by id`;
    await expect(t.sql`update audit_events set action = 'tampered'`).rejects.toThrow(/append-only/);
    await expect(t.sql`delete from audit_events`).rejects.toThrow(/append-only/);
    await expect(t.sql`truncate audit_events`).rejects.toThrow(/append-only/);
    expect(await t.sql`select id, action from audit_events order by id`).toEqual(before);
  });
});
