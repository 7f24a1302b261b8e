import { describe, expect, it } from "vitest";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import { membershipTuples } from "../../src/kernel/tuples.js";
import { addMember } from "../../src/modules/organizations/verbs.js";
import type { TestContext } from "../support/app.js";
import { addMemberTo, createOrg, emailOf, userId } from "../support/factories.js";
import {
  activeCooperation,
  allows,
  auditCount,
  contextHooks,
  grants,
  membershipOf,
  orgWithRoles,
  parks,
  tuplesOf,
} from "../support/org-factories.js";

const roleUrl = (org: string, user: string) => `/v1/organizations/${org}/members/${user}/role`;
const orgObj = (id: string) => `organization:${id}`;

describe("members: roles, removal, leaving", () => {
  let t: TestContext;
  contextHooks((c) => {
    t = c;
  });

  it("R-O5 an admin assigns any role; the engine reflects it at once", async () => {
    const org = await orgWithRoles(t);
    const res = await t.json("PUT", roleUrl(org.id, org.ids.member), {
      actor: org.admin,
      body: { role: "moderator" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      userId: org.ids.member,
      role: "moderator",
      email: emailOf(org.ids.member),
    });
    expect(await membershipOf(t, org.ids.member)).toEqual({ organizationId: org.id, role: "moderator" });
    expect(await allows(t, org.ids.member, "can_manage_members", orgObj(org.id))).toBe(true);
    const admin = await t.json("PUT", roleUrl(org.id, org.ids.moderator), {
      actor: org.admin,
      body: { role: "admin" },
    });
    expect(admin.status).toBe(200);
    expect(await allows(t, org.ids.moderator, "can_manage_settings", orgObj(org.id))).toBe(true);
    const [ev] = await t.sql`select action, before, after from audit_events
      where target_id = ${org.ids.moderator} order by id desc limit 1`;
    expect(ev).toMatchObject({
      action: "member.role_changed",
      before: { role: "moderator" },
      after: { role: "admin" },
    });
  });

  it("R-O5 a moderator assigns the asset-manager roles, member and external", async () => {
    const org = await orgWithRoles(t);
    for (const role of [
      "asset_manager_technical",
      "asset_manager_commercial",
      "external",
      "member",
    ] as const) {
      const res = await t.json("PUT", roleUrl(org.id, org.ids.member), {
        actor: org.ids.moderator,
        body: { role },
      });
      expect([res.status, res.body.role]).toEqual([200, role]);
    }
  });

  it("setting the current role again is a 200 no-op (no audit record, no tuple change)", async () => {
    const org = await orgWithRoles(t);
    const events = await auditCount(t);
    const res = await t.json("PUT", roleUrl(org.id, org.ids.external), {
      actor: org.ids.moderator,
      body: { role: "external" },
    });
    expect([res.status, res.body.role]).toEqual([200, "external"]);
    expect(await auditCount(t)).toBe(events);
    expect(await tuplesOf(t, org.ids.external)).toHaveLength(
      membershipTuples({ userId: org.ids.external, organizationId: org.id, role: "external" }).length,
    );
  });

  it("R-O5 a moderator cannot assign admin/moderator nor change or remove an admin or a moderator", async () => {
    const org = await orgWithRoles(t);
    const other = await addMemberTo(t, org.id, "moderator");
    const events = await auditCount(t);
    const mod = org.ids.moderator;
    const refusals: [string, string, unknown, string][] = [
      ["PUT", roleUrl(org.id, org.ids.member), { role: "admin" }, "forbidden"],
      ["PUT", roleUrl(org.id, org.ids.member), { role: "moderator" }, "forbidden"],
      ["PUT", roleUrl(org.id, org.admin), { role: "member" }, "role-ceiling"],
      ["PUT", roleUrl(org.id, other), { role: "member" }, "role-ceiling"],
      ["PUT", roleUrl(org.id, mod), { role: "member" }, "role-ceiling"],
      ["DELETE", `/v1/organizations/${org.id}/members/${org.admin}`, undefined, "role-ceiling"],
      ["DELETE", `/v1/organizations/${org.id}/members/${other}`, undefined, "role-ceiling"],
    ];
    for (const [method, path, body, code] of refusals) {
      const res = await t.json(method, path, { actor: mod, body });
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 403, code]);
    }
    expect(await membershipOf(t, org.admin)).toMatchObject({ role: "admin" });
    expect(await membershipOf(t, other)).toMatchObject({ role: "moderator" });
    expect(await membershipOf(t, org.ids.member)).toMatchObject({ role: "member" });
    expect(await auditCount(t)).toBe(events);
  });

  it("R-O5 asset managers, members and externals assign and remove nothing (403)", async () => {
    const org = await orgWithRoles(t);
    for (const actor of [
      org.ids.asset_manager_technical,
      org.ids.asset_manager_commercial,
      org.ids.member,
      org.ids.external,
      userId("stranger"),
    ]) {
      const put = await t.json("PUT", roleUrl(org.id, org.ids.external), { actor, body: { role: "member" } });
      expect([actor, put.status, put.body.code]).toEqual([actor, 403, "forbidden"]);
      const del = await t.json("DELETE", `/v1/organizations/${org.id}/members/${org.ids.external}`, {
        actor,
      });
      expect([actor, del.status, del.body.code]).toEqual([actor, 403, "forbidden"]);
    }
    expect(await membershipOf(t, org.ids.external)).toMatchObject({ role: "external" });
  });

  it("refuses unknown members (404), unknown organizations (404) and bad input (400)", async () => {
    const org = await orgWithRoles(t);
    const elsewhere = (await createOrg(t)).admin;
    for (const u of [userId("nobody"), elsewhere]) {
      const put = await t.json("PUT", roleUrl(org.id, u), { actor: org.admin, body: { role: "member" } });
      expect([put.status, put.body.code]).toEqual([404, "member-not-found"]);
      const del = await t.json("DELETE", `/v1/organizations/${org.id}/members/${u}`, { actor: org.admin });
      expect([del.status, del.body.code]).toEqual([404, "member-not-found"]);
    }
    expect(await membershipOf(t, elsewhere)).toMatchObject({ role: "admin" });
    const unknown = await t.json("PUT", roleUrl("org_nope", org.ids.member), {
      actor: org.admin,
      body: { role: "member" },
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, "organization-not-found"]);
    expect((await t.json("POST", "/v1/organizations/org_nope/leave", { actor: org.admin })).status).toBe(404);
    for (const body of [{ role: "owner" }, { role: "" }, {}, { role: ["admin"] }]) {
      const res = await t.json("PUT", roleUrl(org.id, org.ids.member), { actor: org.admin, body });
      expect([res.status, res.body.code]).toEqual([400, "invalid-request"]);
    }
    const badUser = await t.json("PUT", roleUrl(org.id, "a%20b"), {
      actor: org.admin,
      body: { role: "member" },
    });
    expect(badUser.status).toBe(400);
    expect(await membershipOf(t, org.ids.member)).toMatchObject({ role: "member" });
  });

  it("a moderator removes a member: membership, tuples gone, audited", async () => {
    const org = await orgWithRoles(t);
    const del = await t.request("DELETE", `/v1/organizations/${org.id}/members/${org.ids.member}`, {
      actor: org.ids.moderator,
    });
    expect(del.status).toBe(204);
    expect(await membershipOf(t, org.ids.member)).toBeNull();
    expect(await allows(t, org.ids.member, "can_view", orgObj(org.id))).toBe(false);
    expect(await tuplesOf(t, org.ids.member)).toEqual([]);
    const [ev] = await t.sql`select action, actor_id from audit_events where target_id = ${org.ids.member}
      order by id desc limit 1`;
    expect(ev).toMatchObject({ action: "member.removed", actor_id: org.ids.moderator });
  });

  it("a member leaves; /v1/me shows no organization; a non-member cannot leave (403)", async () => {
    const org = await orgWithRoles(t);
    const res = await t.request("POST", `/v1/organizations/${org.id}/leave`, { actor: org.ids.external });
    expect(res.status).toBe(204);
    const me = await t.json("GET", "/v1/me", { actor: org.ids.external });
    expect([me.body.organization, me.body.role]).toEqual([null, null]);
    const again = await t.json("POST", `/v1/organizations/${org.id}/leave`, { actor: org.ids.external });
    expect([again.status, again.body.code]).toEqual([403, "not-a-member"]);
  });

  it("R-O6 the last admin cannot be demoted, removed or leave (409 last-admin); with two admins one may go", async () => {
    const org = await orgWithRoles(t);
    const events = await auditCount(t);
    const demote = await t.json("PUT", roleUrl(org.id, org.admin), {
      actor: org.admin,
      body: { role: "member" },
    });
    expect([demote.status, demote.body.code]).toEqual([409, "last-admin"]);
    const remove = await t.json("DELETE", `/v1/organizations/${org.id}/members/${org.admin}`, {
      actor: org.admin,
    });
    expect([remove.status, remove.body.code]).toEqual([409, "last-admin"]);
    const leave = await t.json("POST", `/v1/organizations/${org.id}/leave`, { actor: org.admin });
    expect([leave.status, leave.body.code]).toEqual([409, "last-admin"]);
    expect(await membershipOf(t, org.admin)).toMatchObject({ role: "admin" });
    expect(await allows(t, org.admin, "can_manage_settings", orgObj(org.id))).toBe(true);
    expect(await auditCount(t)).toBe(events);

    const second = await addMemberTo(t, org.id, "admin");
    expect((await t.request("POST", `/v1/organizations/${org.id}/leave`, { actor: org.admin })).status).toBe(
      204,
    );
    const last = await t.json("POST", `/v1/organizations/${org.id}/leave`, { actor: second });
    expect([last.status, last.body.code]).toEqual([409, "last-admin"]);
  });

  it("R-O6 two admins demoting each other in parallel: exactly one succeeds, one admin remains", async () => {
    for (let round = 0; round < 3; round++) {
      const org = await createOrg(t);
      const b = await addMemberTo(t, org.id, "admin");
      const res = await Promise.all([
        t.json("PUT", roleUrl(org.id, b), { actor: org.admin, body: { role: "member" } }),
        t.json("PUT", roleUrl(org.id, org.admin), { actor: b, body: { role: "member" } }),
      ]);
      expect(res.filter((r) => r.status === 200)).toHaveLength(1);
      const loser = res.find((r) => r.status !== 200)!;
      // The loser either lost its admin role first (403) or would leave none (409).
      expect([
        [403, "forbidden"],
        [409, "last-admin"],
      ]).toContainEqual([loser.status, loser.body.code]);
      const admins =
        await t.sql`select user_id from memberships where organization_id = ${org.id} and role = 'admin'`;
      expect(admins).toHaveLength(1);
      expect(await allows(t, admins[0]!.user_id, "can_manage_settings", orgObj(org.id))).toBe(true);
    }
  });

  it("R-O6 two admins leaving in parallel: exactly one leaves, the other gets 409 last-admin", async () => {
    for (let round = 0; round < 3; round++) {
      const org = await createOrg(t);
      const b = await addMemberTo(t, org.id, "admin");
      const res = await Promise.all(
        [org.admin, b].map((actor) => t.json("POST", `/v1/organizations/${org.id}/leave`, { actor })),
      );
      expect(res.map((r) => r.status).sort()).toEqual([204, 409]);
      expect(res.find((r) => r.status === 409)!.body.code).toBe("last-admin");
      const admins =
        await t.sql`select user_id from memberships where organization_id = ${org.id} and role = 'admin'`;
      expect(admins).toHaveLength(1);
    }
  });

  it("R-O7 a member of one organization cannot join another (409 already-member with the current id)", async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    const u = await addMemberTo(t, a.id, "member");
    const err = await addMemberTo(t, b.id, "member", u).catch((e) => e);
    expect(err).toMatchObject({ code: "already-member", extra: { organizationId: a.id } });
    expect(await membershipOf(t, u)).toEqual({ organizationId: a.id, role: "member" });
    expect(await allows(t, u, "can_view", orgObj(b.id))).toBe(false);
    expect((await t.request("POST", `/v1/organizations/${a.id}/leave`, { actor: u })).status).toBe(204);
    await addMemberTo(t, b.id, "member", u);
    expect(await membershipOf(t, u)).toEqual({ organizationId: b.id, role: "member" });
  });

  it("R-O7 parallel joins of one user to several organizations: exactly one membership", async () => {
    const orgs = await Promise.all([createOrg(t), createOrg(t), createOrg(t)]);
    const u = userId("joiner");
    const results = await Promise.allSettled(
      orgs.map((o) =>
        runChange(t.deps, t.actor("system"), (uow) =>
          addMember(uow, { organizationId: o.id, userId: u, email: emailOf(u), role: "member" }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "already-member" });
    }
    const rows = await t.sql`select organization_id from memberships where user_id = ${u}`;
    expect(rows).toHaveLength(1);
    const views = await Promise.all(orgs.map((o) => allows(t, u, "can_view", orgObj(o.id))));
    expect(views.filter(Boolean)).toHaveLength(1);
    expect(views[orgs.findIndex((o) => o.id === rows[0]!.organization_id)]).toBe(true);
  });

  it("R-O8 leaving or removal takes every grant and delegation with it", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const [own, shared] = await parks(t, owner.id, owner.portfolioId, [userId("park"), userId("park")]);
    const coop = await activeCooperation(t, owner.id, partner.id, [
      { resource: { type: "park", id: shared! }, level: "operator" },
    ]);
    const ownMember = await addMemberTo(t, owner.id, "member");
    const partnerMember = await addMemberTo(t, partner.id, "member");
    await grants(t, [
      {
        resourceType: "park",
        resourceId: own!,
        userId: ownMember,
        level: "operator",
        organizationId: owner.id,
      },
      {
        resourceType: "portfolio",
        resourceId: owner.portfolioId,
        userId: ownMember,
        level: "viewer",
        organizationId: owner.id,
      },
      {
        resourceType: "park",
        resourceId: shared!,
        userId: partnerMember,
        level: "technical_manager",
        organizationId: partner.id,
        cooperationId: coop.id,
      },
    ]);
    expect(await allows(t, ownMember, "can_use_vpn", `park:${own}`)).toBe(true);
    expect(await allows(t, partnerMember, "can_run_diagnostics", `park:${shared}`)).toBe(true);

    const removed = await t.request("DELETE", `/v1/organizations/${owner.id}/members/${ownMember}`, {
      actor: owner.admin,
    });
    expect(removed.status).toBe(204);
    const left = await t.request("POST", `/v1/organizations/${partner.id}/leave`, { actor: partnerMember });
    expect(left.status).toBe(204);

    for (const u of [ownMember, partnerMember]) {
      expect(await t.sql`select 1 from grants where user_id = ${u}`).toHaveLength(0);
      expect(await tuplesOf(t, u)).toEqual([]);
    }
    expect(await allows(t, ownMember, "can_view", `park:${own}`)).toBe(false);
    expect(await allows(t, ownMember, "can_view", `portfolio:${owner.portfolioId}`)).toBe(false);
    expect(await allows(t, partnerMember, "can_view", `park:${shared}`)).toBe(false);
    const [ev] = await t.sql`select before, organization_ids from audit_events
      where target_id = ${partnerMember} and action = 'member.left'`;
    expect(ev!.before.grants).toHaveLength(1);
    expect([...ev!.organization_ids].sort()).toEqual([owner.id, partner.id].sort());
  });
});
