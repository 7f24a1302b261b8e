import { describe, expect, it } from "vitest";
import type { TestContext } from "../support/app.js";
import { decide, delegated } from "../support/coop-factories.js";
import {
  explain,
  explained,
  org,
  park,
  portfolio,
  putShare,
  sharedWorld,
} from "../support/explain-factories.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";
import { contextHooks, sysadmin } from "../support/org-factories.js";
import { grant } from "../support/resource-factories.js";

let t: TestContext;
contextHooks((c) => {
  t = c;
});

describe("POST /v1/explain: the paths that allow, in domain terms", () => {
  it("R-O1 role baseline: role and organization, the level it gives; no tuples", async () => {
    const w = await sharedWorld(t);
    const e = await explained(t, w.owner.admin, w.owner.admin, "can_configure_settings", park(w.park));
    expect(e).toMatchObject({
      decision: true,
      consistent: true,
      levels: ["operator"],
      reasons: [{ kind: "role-baseline", role: "admin", organizationId: w.owner.id, level: "operator" }],
    });
    expect(e.missing).toBeUndefined();
    expect(JSON.stringify(e)).not.toMatch(/lvl_|grant_|share_|#|user:/);
    const amt = w.owner.ids.asset_manager_technical;
    expect(await explained(t, amt, amt, "can_close_ticket", park(w.park))).toMatchObject({
      decision: true,
      reasons: [{ kind: "role-baseline", role: "asset_manager_technical", level: "technical_manager" }],
    });
  });

  it("R-O2 R-H1 grants on the park and on its portfolio, each a path with its level", async () => {
    const w = await sharedWorld(t);
    const m = w.owner.ids.member;
    await grant(t, w.owner.admin, "park", w.park, m, "viewer");
    await grant(t, w.owner.admin, "portfolio", w.owner.portfolioId, m, "asset_manager");
    const view = await explained(t, m, m, "can_view", park(w.park));
    expect(view).toMatchObject({
      decision: true,
      consistent: true,
      levels: ["asset_manager"],
      reasons: [
        { kind: "grant", on: park(w.park), level: "viewer", effectiveLevel: "viewer" },
        { kind: "grant", on: portfolio(w.owner.portfolioId), level: "asset_manager" },
      ],
    });
    const edit = await explained(t, m, m, "can_edit_details", park(w.park));
    expect(edit.reasons).toEqual([
      expect.objectContaining({ kind: "grant", on: portfolio(w.owner.portfolioId) }),
    ]);
  });

  it("R-C7 a share to a partner admin: cooperation, owner, level, on the portfolio", async () => {
    const w = await sharedWorld(t, "technical_manager");
    expect(
      await explained(t, w.partner.admin, w.partner.admin, "can_close_ticket", park(w.park)),
    ).toMatchObject({
      decision: true,
      consistent: true,
      levels: ["technical_manager"],
      reasons: [
        {
          kind: "share",
          cooperationId: w.coopId,
          ownerOrganizationId: w.owner.id,
          partnerOrganizationId: w.partner.id,
          on: portfolio(w.owner.portfolioId),
          level: "technical_manager",
          expiresAt: null,
        },
      ],
    });
    // R-C8: partner admins manage delegations under a live share.
    const manage = await explained(t, w.partner.admin, w.partner.admin, "can_manage_access", park(w.park));
    expect(manage).toMatchObject({ decision: true, reasons: [{ kind: "share", cooperationId: w.coopId }] });
  });

  it("R-C9 a delegation with the share that caps it now and its effective level; lowering the share caps it", async () => {
    const w = await sharedWorld(t, "technical_manager");
    await delegated(t, {
      actor: w.partner.admin,
      resource: park(w.park),
      userId: w.pm,
      level: "technical_manager",
    });
    expect(await explained(t, w.pm, w.pm, "can_close_ticket", park(w.park))).toMatchObject({
      decision: true,
      consistent: true,
      reasons: [
        {
          kind: "delegation",
          cooperationId: w.coopId,
          ownerOrganizationId: w.owner.id,
          on: park(w.park),
          level: "technical_manager",
          share: { on: portfolio(w.owner.portfolioId), level: "technical_manager" },
          effectiveLevel: "technical_manager",
        },
      ],
    });
    await putShare(t, w.owner.admin, w.coopId, portfolio(w.owner.portfolioId), "viewer");
    const denied = await explained(t, w.pm, w.pm, "can_close_ticket", park(w.park));
    expect(denied).toMatchObject({
      decision: false,
      consistent: true,
      reasons: [],
      missing: [
        {
          kind: "delegation-capped",
          cooperationId: w.coopId,
          level: "technical_manager",
          share: { on: portfolio(w.owner.portfolioId), level: "viewer" },
          effectiveLevel: "viewer",
        },
      ],
    });
    expect(denied.missing[0].message).toMatch(/capped at viewer/);
    expect(await explained(t, w.pm, w.pm, "can_view", park(w.park))).toMatchObject({
      decision: true,
      levels: ["viewer"],
      reasons: [{ kind: "delegation", share: { level: "viewer" }, effectiveLevel: "viewer" }],
    });
  });

  it("organization and platform permissions: the role or the staff role", async () => {
    const w = await sharedWorld(t);
    const amc = w.owner.ids.asset_manager_commercial;
    expect(await explained(t, amc, amc, "can_create_portfolio", org(w.owner.id))).toMatchObject({
      decision: true,
      consistent: true,
      reasons: [{ kind: "organization-role", role: "asset_manager_commercial", organizationId: w.owner.id }],
    });
    const mod = w.owner.ids.moderator;
    expect(await explained(t, mod, mod, "can_manage_access", park(w.park))).toMatchObject({
      decision: true,
      reasons: [{ kind: "organization-role", role: "moderator", organizationId: w.owner.id }],
    });
    const sys = await sysadmin(t);
    expect(await explained(t, sys, sys, "can_administer", { type: "platform", id: "default" })).toMatchObject(
      {
        decision: true,
        consistent: true,
        reasons: [{ kind: "staff-role", role: "sysadmin" }],
      },
    );
    const support = userId("support");
    const put = await t.json("PUT", `/v1/platform/staff/${support}`, {
      actor: sys,
      body: { role: "support" },
    });
    expect(put.status).toBeLessThan(300);
    const platform = { type: "platform", id: "default" };
    expect(await explained(t, support, support, "can_send_platform_invitation", platform)).toMatchObject({
      decision: true,
      reasons: [{ kind: "staff-role", role: "support" }],
    });
    expect(await explained(t, support, support, "can_administer", platform)).toMatchObject({
      decision: false,
      consistent: true,
      missing: [{ kind: "staff-role-required", roles: ["sysadmin"], role: "support" }],
    });
  });
});

describe("POST /v1/explain: for a deny, what is closest", () => {
  it("member of the owner organization without a grant; a level too low", async () => {
    const w = await sharedWorld(t);
    const m = w.owner.ids.member;
    expect(await explained(t, m, m, "can_view", park(w.park))).toMatchObject({
      decision: false,
      consistent: true,
      reasons: [],
      levels: [],
      missing: [{ kind: "no-grant", organizationId: w.owner.id, role: "member" }],
    });
    const amt = w.owner.ids.asset_manager_technical;
    expect(await explained(t, amt, amt, "can_configure_settings", park(w.park))).toMatchObject({
      decision: false,
      missing: [{ kind: "level-too-low", levels: ["technical_manager"], requiredLevels: ["operator"] }],
    });
  });

  it("R-O4 external members are limited to viewer", async () => {
    const w = await sharedWorld(t);
    const m = await addMemberTo(t, w.owner.id, "member");
    await grant(t, w.owner.admin, "park", w.park, m, "operator");
    const demote = await t.json("PUT", `/v1/organizations/${w.owner.id}/members/${m}/role`, {
      actor: w.owner.admin,
      body: { role: "external" },
    });
    expect(demote.status).toBe(200);
    const e = await explained(t, m, m, "can_edit_details", park(w.park));
    expect(e).toMatchObject({
      decision: false,
      consistent: true,
      missing: [{ kind: "external-limited", rule: "R-O4", on: park(w.park), level: "operator" }],
    });
    expect(await explained(t, m, m, "can_view", park(w.park))).toMatchObject({
      decision: true,
      reasons: [{ kind: "grant", level: "operator", effectiveLevel: "viewer" }],
    });
  });

  it("partner side: share too low, no delegation, paused cooperation", async () => {
    const w = await sharedWorld(t, "technical_manager");
    const pa = w.partner.admin;
    expect(await explained(t, pa, pa, "can_view_billing", park(w.park))).toMatchObject({
      decision: false,
      missing: [{ kind: "share-too-low", cooperationId: w.coopId, level: "technical_manager" }],
    });
    expect(await explained(t, w.pm, w.pm, "can_view", park(w.park))).toMatchObject({
      decision: false,
      missing: [{ kind: "no-delegation", cooperationId: w.coopId, organizationId: w.partner.id }],
    });
    // R-C11: operator-level sharing never gives can_share.
    expect(await explained(t, pa, pa, "can_share", park(w.park))).toMatchObject({
      decision: false,
      missing: [{ kind: "role-required", organizationId: w.owner.id, roles: ["admin"], role: null }],
    });
    const paused = await t.json("POST", `/v1/cooperations/${w.coopId}/pause`, { actor: w.owner.admin });
    expect(paused.status).toBe(200);
    const e = await explained(t, pa, pa, "can_view", park(w.park));
    expect(e).toMatchObject({
      decision: false,
      consistent: true,
      missing: [{ kind: "cooperation-inactive", cooperationId: w.coopId, state: "paused", since: null }],
    });
    expect(e.missing[0].message).toMatch(/^partner admin, but cooperation .* is paused/);
  });

  it("R-C5 R-C6 partner admin, but the cooperation expired since …", async () => {
    const w = await sharedWorld(t, "viewer");
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const set = await t.json("PATCH", `/v1/cooperations/${w.coopId}`, {
      actor: w.owner.admin,
      body: { expiresAt },
    });
    expect(set.status).toBe(200);
    expect(await explained(t, w.partner.admin, w.partner.admin, "can_view", park(w.park))).toMatchObject({
      decision: true,
      reasons: [{ kind: "share", expiresAt }],
    });
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now()) + 300));
    const e = await explained(t, w.partner.admin, w.partner.admin, "can_view", park(w.park));
    expect(e).toMatchObject({
      decision: false,
      consistent: true,
      missing: [{ kind: "cooperation-inactive", state: "expired", since: expiresAt, expiresAt }],
    });
    expect(e.missing[0].message).toContain(`expired since ${expiresAt}`);
  });

  it("not a member, a role required, an unknown permission", async () => {
    const w = await sharedWorld(t);
    const stranger = (await createOrg(t)).admin;
    expect(await explained(t, stranger, stranger, "can_view", park(w.park))).toMatchObject({
      decision: false,
      missing: [{ kind: "not-a-member", organizationId: w.owner.id }],
    });
    const m = w.owner.ids.member;
    expect(await explained(t, m, m, "can_manage_members", org(w.owner.id))).toMatchObject({
      decision: false,
      missing: [{ kind: "role-required", roles: ["admin", "moderator"], role: "member" }],
    });
    expect(await explained(t, stranger, stranger, "can_view", org(w.owner.id))).toMatchObject({
      decision: false,
      missing: [{ kind: "not-a-member", organizationId: w.owner.id }],
    });
    for (const [action, resource] of [
      ["lvl_viewer", park(w.park)],
      ["can_fly", org(w.owner.id)],
      ["can_view", { type: "cooperation", id: w.coopId }],
    ] as const) {
      const e = await explained(t, w.owner.admin, w.owner.admin, action, resource);
      expect(e).toMatchObject({
        decision: false,
        consistent: true,
        missing: [{ kind: "unknown-permission" }],
      });
      expect(await decide(t, w.owner.admin, action, `${resource.type}:${resource.id}`)).toBe(false);
    }
    const group = await t.json("POST", "/v1/explain", {
      actor: w.owner.admin,
      body: { subject: { type: "group", id: "g1" }, action: { name: "can_view" }, resource: park(w.park) },
    });
    expect(group.body).toMatchObject({
      decision: false,
      consistent: true,
      missing: [{ kind: "unknown-subject-type", type: "group" }],
    });
  });
});

describe("POST /v1/explain: who may ask (403 for a known resource, 404 for an unknown one)", () => {
  it("the subject, can_manage_access holders, partner admins about their own members, org admins, sysadmins", async () => {
    const w = await sharedWorld(t);
    const m = w.owner.ids.member;
    const status = async (actor: string, user: string, action: string, r: { type: string; id: string }) =>
      (await explain(t, actor, user, action, r)).status;
    expect(await status(m, m, "can_view", park(w.park))).toBe(200);
    expect(await status(w.owner.ids.moderator, m, "can_view", park(w.park))).toBe(200);
    expect(await status(m, w.owner.admin, "can_view", park(w.park))).toBe(403);
    expect(await status(w.partner.admin, w.pm, "can_view", park(w.park))).toBe(200);
    expect(await status(w.partner.admin, m, "can_view", park(w.park))).toBe(403);
    expect(await status(w.owner.admin, m, "can_manage_members", org(w.owner.id))).toBe(200);
    expect(await status(w.owner.ids.moderator, m, "can_manage_members", org(w.owner.id))).toBe(403);
    expect(await status(w.owner.admin, m, "can_view", org(w.partner.id))).toBe(403);
    expect(await status(m, w.owner.admin, "can_administer", { type: "platform", id: "default" })).toBe(403);
    const sys = await sysadmin(t);
    expect(await status(sys, m, "can_view", park(w.park))).toBe(200);
    expect(await status(sys, m, "can_view", org(w.owner.id))).toBe(200);
    const gone = await explain(t, m, m, "can_view", park("no-such-park"));
    expect([gone.status, gone.body.code]).toEqual([404, "park-not-found"]);
    expect((await explain(t, m, m, "can_view", org("org_nope"))).body.code).toBe("organization-not-found");
    expect((await explain(t, m, m, "can_administer", { type: "platform", id: "other" })).status).toBe(404);
  });

  it("R-G4 bad input is a 4xx problem, never a 5xx", async () => {
    const w = await sharedWorld(t);
    const a = w.owner.admin;
    const bodies: unknown[] = [
      {},
      { subject: { type: "user", id: "a b" }, action: { name: "can_view" }, resource: park(w.park) },
      { subject: { type: "user", id: a }, action: {}, resource: park(w.park) },
      {
        subject: { type: "user", id: a },
        action: { name: "can_view" },
        resource: { type: "park", id: ".." },
      },
      { subject: { type: "user", id: a }, action: { name: "x".repeat(500) }, resource: park(w.park) },
      [],
    ];
    for (const body of bodies) {
      const res = await t.json("POST", "/v1/explain", { actor: a, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.res.headers.get("content-type")).toMatch(/problem\+json/);
    }
    const text = await t.request("POST", "/v1/explain", {
      actor: a,
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
    const noActor = await t.json("POST", "/v1/explain", {
      body: { subject: { type: "user", id: a }, action: { name: "can_view" }, resource: park(w.park) },
    });
    expect([noActor.status, noActor.body.code]).toEqual([400, "actor-required"]);
    const decideOnly = await t.json("POST", "/v1/explain", {
      actor: a,
      key: "decide",
      body: { subject: { type: "user", id: a }, action: { name: "can_view" }, resource: park(w.park) },
    });
    expect(decideOnly.status).toBe(403);
  });
});
