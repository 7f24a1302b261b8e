import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../support/app.js";
import {
  activeCooperation,
  coopWorld,
  decide,
  delegate,
  delegated,
  parkIn,
  share,
} from "../support/coop-factories.js";
import { createOrg } from "../support/factories.js";

describe("cooperation shares", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "10000" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const putShare = (coop: string, type: string, id: string, level: string, actor: string) =>
    t.json("PUT", `/v1/cooperations/${coop}/shares/${type}/${id}`, { actor, body: { level } });
  const delShare = (coop: string, type: string, id: string, actor: string) =>
    t.json("DELETE", `/v1/cooperations/${coop}/shares/${type}/${id}`, { actor });
  const get = (id: string, actor: string) => t.json("GET", `/v1/cooperations/${id}`, { actor });

  it("R-C4 R-C7 owner admins add and change shares; partner admins get the level, other members nothing", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, { owner: w.owner.id, partner: w.partner.id });
    const added = await putShare(c.id, "portfolio", w.portfolio, "asset_manager", w.owner.admin);
    expect(added.status).toBe(200);
    expect(added.body.shares).toEqual([
      { resource: { type: "portfolio", id: w.portfolio }, level: "asset_manager" },
    ]);
    // Portfolio shares flow to its parks (R-H1) for partner admins only.
    expect(await decide(t, w.partner.admin, "can_view_billing", `park:${w.park}`)).toBe(true);
    expect(await decide(t, w.partner.admin, "can_close_ticket", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.member, "can_view", `portfolio:${w.portfolio}`)).toBe(false);
    // Changing the level replaces it: each resource once per cooperation.
    const changed = await putShare(c.id, "portfolio", w.portfolio, "technical_manager", w.owner.admin);
    expect(changed.body.shares).toEqual([
      { resource: { type: "portfolio", id: w.portfolio }, level: "technical_manager" },
    ]);
    expect(await decide(t, w.partner.admin, "can_view_billing", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.partner.admin, "can_close_ticket", `park:${w.park}`)).toBe(true);
    const bad = await putShare(c.id, "portfolio", w.portfolio, "admin", w.owner.admin);
    expect([bad.status, bad.body.errors?.[0]?.path]).toEqual([400, "level"]);
    const badType = await putShare(c.id, "organization", w.owner.id, "viewer", w.owner.admin);
    expect(badType.status).toBe(400);
    const audit = await t.sql`select action, before, after, organization_ids from audit_events
      where target_id = ${c.id} and action like 'cooperation.share.%' order by id`;
    expect(audit.map((a) => a.action)).toEqual(["cooperation.share.added", "cooperation.share.changed"]);
    expect(audit[1]?.organization_ids).toEqual([w.owner.id, w.partner.id]);
    expect(audit[1]?.before).toMatchObject({ level: "asset_manager" });
  });

  it("R-C2 only owner admins change shares; nothing changes after a refusal", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "viewer")],
    });
    for (const actor of [w.partner.admin, w.amt, "stranger"]) {
      expect((await putShare(c.id, "park", w.park, "operator", actor)).status).toBe(403);
      expect((await delShare(c.id, "park", w.park, actor)).status).toBe(403);
    }
    expect((await get(c.id, w.owner.admin)).body.shares).toEqual([
      { resource: { type: "park", id: w.park }, level: "viewer" },
    ]);
    const missing = await putShare("coop_nope", "park", w.park, "viewer", w.owner.admin);
    expect([missing.status, missing.body.code]).toEqual([404, "cooperation-not-found"]);
    const noShare = await delShare(c.id, "portfolio", w.portfolio, w.owner.admin);
    expect([noShare.status, noShare.body.code]).toEqual([404, "share-not-found"]);
    const noPark = await putShare(c.id, "park", "no-such-park", "viewer", w.owner.admin);
    expect([noPark.status, noPark.body.code]).toEqual([404, "resource-not-found"]);
  });

  it("R-C3 refuses re-sharing a received resource and sharing another organization's resource", async () => {
    const w = await coopWorld(t);
    const third = await createOrg(t);
    await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "operator")],
    });
    const onward = await activeCooperation(t, { owner: w.partner.id, partner: third.id });
    // The partner admin holds operator on the received portfolio, yet may not share it on.
    expect(await decide(t, w.partner.admin, "can_configure_settings", `portfolio:${w.portfolio}`)).toBe(true);
    for (const [type, id] of [
      ["portfolio", w.portfolio],
      ["park", w.park],
    ] as const) {
      const res = await putShare(onward.id, type, id, "viewer", w.partner.admin);
      expect([res.status, res.body.code]).toEqual([403, "resharing-forbidden"]);
    }
    const foreign = await parkIn(t, { organizationId: third.id, portfolioId: third.portfolioId });
    const notOwner = await putShare(onward.id, "park", foreign, "viewer", w.partner.admin);
    expect([notOwner.status, notOwner.body.code]).toEqual([403, "not-owner"]);
    expect((await get(onward.id, w.partner.admin)).body.shares).toEqual([]);
    expect(await decide(t, third.admin, "can_view", `park:${w.park}`)).toBe(false);
  });

  it("R-C9 a share lowered from operator to viewer clamps a delegated technical_manager live; raising restores it", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "operator")],
    });
    await delegated(t, {
      actor: w.partner.admin,
      resource: { type: "park", id: w.park },
      userId: w.amt,
      level: "technical_manager",
    });
    const park = `park:${w.park}`;
    expect(await decide(t, w.amt, "can_run_diagnostics", park)).toBe(true);
    expect(await decide(t, w.amt, "can_use_vpn", park)).toBe(false);
    await putShare(c.id, "park", w.park, "viewer", w.owner.admin);
    expect(await decide(t, w.amt, "can_run_diagnostics", park)).toBe(false);
    expect(await decide(t, w.amt, "can_view", park)).toBe(true);
    // A peer share (asset_manager) caps technical_manager at viewer too.
    await putShare(c.id, "park", w.park, "asset_manager", w.owner.admin);
    expect(await decide(t, w.amt, "can_create_ticket", park)).toBe(false);
    expect(await decide(t, w.amt, "can_view", park)).toBe(true);
    await putShare(c.id, "park", w.park, "operator", w.owner.admin);
    expect(await decide(t, w.amt, "can_run_diagnostics", park)).toBe(true);
    expect(await decide(t, w.amt, "can_use_vpn", park)).toBe(false);
    // The delegation row kept its delegated level throughout.
    const [g] = await t.sql`select level from grants where cooperation_id = ${c.id} and user_id = ${w.amt}`;
    expect(g?.level).toBe("technical_manager");
  });

  it("R-C9 removing a share deletes only the delegations no remaining share covers", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "viewer"), share("park", w.park, "operator")],
    });
    const base = { actor: w.partner.admin };
    await delegated(t, {
      ...base,
      resource: { type: "park", id: w.park },
      userId: w.amt,
      level: "operator",
    });
    await delegated(t, {
      ...base,
      resource: { type: "portfolio", id: w.portfolio },
      userId: w.member,
      level: "viewer",
    });
    const rows = async () =>
      (await t.sql`select user_id from grants where cooperation_id = ${c.id} order by user_id`).map(
        (r) => r.user_id as string,
      );
    expect(await decide(t, w.amt, "can_use_vpn", `park:${w.park}`)).toBe(true);
    // The park delegation stays, still covered by the portfolio share, capped at viewer.
    expect((await delShare(c.id, "park", w.park, w.owner.admin)).status).toBe(204);
    expect(await rows()).toEqual([w.amt, w.member].sort());
    expect(await decide(t, w.amt, "can_use_vpn", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(true);
    // The last covering share goes: both delegations go with it.
    expect((await delShare(c.id, "portfolio", w.portfolio, w.owner.admin)).status).toBe(204);
    expect(await rows()).toEqual([]);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    // Sharing again does not bring deleted delegations back.
    await putShare(c.id, "park", w.park, "operator", w.owner.admin);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.partner.admin, "can_use_vpn", `park:${w.park}`)).toBe(true);
    const removed = await t.sql`select organization_ids from audit_events where action = 'delegation.removed'
      and ${w.owner.id} = any(organization_ids)`;
    expect(removed).toHaveLength(2);
  });

  it("R-C8 partner admins delegate only to their members and only up to the share level (peers are not <=)", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "technical_manager")],
    });
    const park = { type: "park" as const, id: w.park };
    const as = (userId: string, level: "operator" | "technical_manager" | "asset_manager" | "viewer") =>
      delegate(t, { actor: w.partner.admin, resource: park, userId, level });
    for (const level of ["asset_manager", "operator"] as const) {
      const res = await as(w.amt, level);
      expect([res.status, res.body.code]).toEqual([403, "level-above-cap"]);
    }
    const ext = await as(w.external, "technical_manager");
    expect([ext.status, ext.body.code]).toEqual([403, "level-above-external-cap"]);
    const outsider = await as(w.owner.admin, "viewer");
    expect(outsider.status).toBe(409);
    expect(await t.sql`select 1 from grants where cooperation_id = ${c.id}`).toHaveLength(0);
    expect((await as(w.amt, "technical_manager")).status).toBe(201);
    expect((await as(w.external, "viewer")).status).toBe(201);
    expect(await decide(t, w.amt, "can_run_diagnostics", `park:${w.park}`)).toBe(true);
    // A member cannot delegate; nothing can be delegated while paused.
    const byMember = await delegate(t, { actor: w.amt, resource: park, userId: w.member, level: "viewer" });
    expect(byMember.status).toBe(403);
    await t.json("POST", `/v1/cooperations/${c.id}/pause`, { actor: w.owner.admin });
    expect((await as(w.member, "viewer")).status).toBe(403);
  });

  it("R-C9 the grants list shows a delegation's effective level under the live cap", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "operator")],
    });
    await delegated(t, {
      actor: w.partner.admin,
      resource: { type: "park", id: w.park },
      userId: w.amt,
      level: "technical_manager",
    });
    const levels = async () => {
      const res = await t.json("GET", `/v1/parks/${w.park}/grants`, { actor: w.partner.admin });
      return res.body.items.map((i: { level: string; effectiveLevel: string | null }) => [
        i.level,
        i.effectiveLevel,
      ]);
    };
    expect(await levels()).toEqual([["technical_manager", "technical_manager"]]);
    await putShare(c.id, "park", w.park, "viewer", w.owner.admin);
    expect(await levels()).toEqual([["technical_manager", "viewer"]]);
    await putShare(c.id, "park", w.park, "operator", w.owner.admin);
    expect(await levels()).toEqual([["technical_manager", "technical_manager"]]);
  });

  it("R-C9 R-H2 moving a park out of a shared portfolio deletes its delegations; deleting a resource its shares", async () => {
    const w = await coopWorld(t);
    const pf = (name: string) => `pf-${name}-${w.park}`;
    for (const name of ["unshared", "empty"]) {
      const res = await t.json("PUT", `/v1/portfolios/${pf(name)}`, {
        actor: w.owner.admin,
        body: { organizationId: w.owner.id, name },
      });
      expect(res.status).toBe(201);
    }
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "operator"), share("portfolio", pf("empty"), "viewer")],
    });
    await delegated(t, {
      actor: w.partner.admin,
      resource: { type: "park", id: w.park },
      userId: w.amt,
      level: "operator",
    });
    expect(await decide(t, w.amt, "can_use_vpn", `park:${w.park}`)).toBe(true);
    const moved = await t.json("PUT", `/v1/parks/${w.park}`, {
      actor: w.owner.admin,
      body: { portfolioId: pf("unshared"), name: "Moved" },
    });
    expect(moved.status).toBe(200);
    expect(await t.sql`select 1 from grants where cooperation_id = ${c.id}`).toHaveLength(0);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    // Moving it back does not resurrect the delegation.
    await t.json("PUT", `/v1/parks/${w.park}`, {
      actor: w.owner.admin,
      body: { portfolioId: w.portfolio, name: "Back" },
    });
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.partner.admin, "can_use_vpn", `park:${w.park}`)).toBe(true);
    // Deleting a shared (empty) portfolio leaves no dangling share.
    const del = await t.json("DELETE", `/v1/portfolios/${pf("empty")}`, { actor: w.owner.admin });
    expect(del.status).toBe(204);
    expect((await get(c.id, w.owner.admin)).body.shares).toEqual([
      { resource: { type: "portfolio", id: w.portfolio }, level: "operator" },
    ]);
  });

  it("R-C9 a delegated member leaving the partner organization loses it at once and the delegation is deleted", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "operator")],
    });
    for (const userId of [w.amt, w.member]) {
      await delegated(t, {
        actor: w.partner.admin,
        resource: { type: "park", id: w.park },
        userId,
        level: "technical_manager",
      });
    }
    expect(await decide(t, w.amt, "can_run_diagnostics", `park:${w.park}`)).toBe(true);
    const removed = await t.json("DELETE", `/v1/organizations/${w.partner.id}/members/${w.amt}`, {
      actor: w.partner.admin,
    });
    expect(removed.status).toBe(204);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    const left = await t.sql`select user_id from grants where cooperation_id = ${c.id}`;
    expect(left.map((r) => r.user_id)).toEqual([w.member]);
    expect(await decide(t, w.member, "can_run_diagnostics", `park:${w.park}`)).toBe(true);
  });

  it("R-C11 operator through a cooperation gives no can_share or can_view_audit_log", async () => {
    const w = await coopWorld(t);
    await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "operator")],
    });
    for (const object of [`portfolio:${w.portfolio}`, `park:${w.park}`]) {
      expect(await decide(t, w.partner.admin, "can_use_vpn", object)).toBe(true);
      expect(await decide(t, w.partner.admin, "can_share", object)).toBe(false);
      expect(await decide(t, w.partner.admin, "can_view_audit_log", object)).toBe(false);
      expect(await decide(t, w.owner.admin, "can_share", object)).toBe(true);
    }
  });
});
