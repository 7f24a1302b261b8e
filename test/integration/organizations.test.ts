import { describe, expect, it } from "vitest";
import type { TestContext } from "../support/app.js";
import { emailOf, userId } from "../support/factories.js";
import { auditCount, contextHooks, orgWithRoles } from "../support/org-factories.js";

describe("organizations: me, read, rename, members", () => {
  let t: TestContext;
  let org: Awaited<ReturnType<typeof orgWithRoles>>;
  contextHooks(async (c) => {
    t = c;
    org = await orgWithRoles(t);
  });

  it("GET /v1/me answers the user, organization and role", async () => {
    const me = await t.json("GET", "/v1/me", { actor: org.ids.moderator });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: { id: org.ids.moderator, email: emailOf(org.ids.moderator) },
      organization: { id: org.id, name: `Org ${org.admin}` },
      role: "moderator",
    });
  });

  it("GET /v1/me for a new actor records it and answers organization null", async () => {
    const u = userId("new");
    const me = await t.json("GET", "/v1/me", { actor: u, email: "New@Example.Test" });
    expect(me.body).toEqual({ user: { id: u, email: "new@example.test" }, organization: null, role: null });
    const [row] = await t.sql`select email from users where id = ${u}`;
    expect(row?.email).toBe("new@example.test");
  });

  it("every member (external too) reads the organization", async () => {
    for (const actor of [org.admin, org.ids.external, org.ids.member]) {
      const res = await t.json("GET", `/v1/organizations/${org.id}`, { actor });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: org.id, name: `Org ${org.admin}` });
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
    }
  });

  it("a non-member gets 403, an unknown organization 404, a malformed id 400", async () => {
    const stranger = await t.json("GET", `/v1/organizations/${org.id}`, { actor: userId("x") });
    expect([stranger.status, stranger.body.code]).toEqual([403, "forbidden"]);
    const unknown = await t.json("GET", "/v1/organizations/org_doesnotexist", { actor: org.admin });
    expect([unknown.status, unknown.body.code]).toEqual([404, "organization-not-found"]);
    const bad = await t.json("GET", "/v1/organizations/bad%20id", { actor: org.admin });
    expect([bad.status, bad.body.code]).toEqual([400, "invalid-request"]);
  });

  it("an admin (can_manage_settings) renames; the change is audited", async () => {
    const res = await t.json("PATCH", `/v1/organizations/${org.id}`, {
      actor: org.admin,
      body: { name: "  Renamed GmbH " },
    });
    expect([res.status, res.body.name]).toEqual([200, "Renamed GmbH"]);
    const [row] = await t.sql`select name from organizations where id = ${org.id}`;
    expect(row?.name).toBe("Renamed GmbH");
    const [ev] = await t.sql`select action, before, after, actor_id from audit_events
      where target_id = ${org.id} order by id desc limit 1`;
    expect(ev).toMatchObject({
      action: "organization.renamed",
      after: { name: "Renamed GmbH" },
      actor_id: org.admin,
    });
  });

  it("renaming is refused without can_manage_settings (403), for bad names (400), unknown org (404)", async () => {
    const [{ name }] = (await t.sql`select name from organizations where id = ${org.id}`) as any;
    const events = await auditCount(t);
    for (const actor of [org.ids.moderator, org.ids.asset_manager_commercial, userId("x")]) {
      const res = await t.json("PATCH", `/v1/organizations/${org.id}`, { actor, body: { name: "Hijack" } });
      expect(res.status).toBe(403);
    }
    for (const body of [{ name: "" }, { name: "   " }, { name: "x".repeat(201) }, {}, { name: 7 }]) {
      const res = await t.json("PATCH", `/v1/organizations/${org.id}`, { actor: org.admin, body });
      expect([res.status, res.body.code]).toEqual([400, "invalid-request"]);
    }
    const unknown = await t.json("PATCH", "/v1/organizations/org_nope", {
      actor: org.admin,
      body: { name: "X" },
    });
    expect(unknown.status).toBe(404);
    const [after] = await t.sql`select name from organizations where id = ${org.id}`;
    expect(after?.name).toBe(name);
    expect(await auditCount(t)).toBe(events);
  });

  it("members list pages with limit and an opaque cursor", async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=4&cursor=${cursor}` : "?limit=4";
      const res = await t.json("GET", `/v1/organizations/${org.id}/members${q}`, { actor: org.ids.member });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen.map((m) => m.userId).sort()).toEqual(Object.values(org.ids).sort());
    const admin = seen.find((m) => m.userId === org.admin);
    expect(admin).toMatchObject({ role: "admin", email: emailOf(org.admin) });
    expect(new Date(admin.joinedAt).toISOString()).toBe(admin.joinedAt);
    const all = await t.json("GET", `/v1/organizations/${org.id}/members`, { actor: org.admin });
    expect([all.body.items.length, all.body.nextCursor]).toEqual([6, null]);
  });

  it("members list refuses non-members (403), bad cursors and limits (400), unknown org (404)", async () => {
    const path = `/v1/organizations/${org.id}/members`;
    expect((await t.json("GET", path, { actor: userId("x") })).status).toBe(403);
    for (const q of ["?cursor=garbage", "?limit=0", "?limit=501", "?limit=abc"]) {
      const res = await t.json("GET", `${path}${q}`, { actor: org.admin });
      expect(res.status).toBe(400);
    }
    const badCursor = await t.json("GET", `${path}?cursor=garbage`, { actor: org.admin });
    expect(badCursor.body.code).toBe("invalid-cursor");
    expect((await t.json("GET", "/v1/organizations/org_nope/members", { actor: org.admin })).status).toBe(
      404,
    );
  });

  it("documents the role change's refusals (400, 403, 404, 409) in /openapi.json", async () => {
    const doc = await t.json("GET", "/openapi.json", { key: null });
    const role = doc.body.paths["/v1/organizations/{orgId}/members/{userId}/role"].put;
    expect(Object.keys(role.responses)).toEqual(expect.arrayContaining(["200", "400", "403", "404", "409"]));
  });
});
