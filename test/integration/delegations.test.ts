import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobLevel, ResourceType } from "../../src/engine/permissions.js";
import { describeDrift, reconcile } from "../../src/engine-sync/reconcile.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import {
  createActiveCooperation,
  createPark,
  createPortfolio,
  grant,
} from "../support/resource-factories.js";

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "10000" } });
});
afterAll(async () => {
  await t?.close();
});

/** The decision endpoint's answer (AuthZEN). */
async function decide(user: string, action: string, type: ResourceType, id: string): Promise<boolean> {
  const res = await t.json("POST", "/access/v1/evaluation", {
    key: "decide",
    body: { subject: { type: "user", id: user }, action: { name: action }, resource: { type, id } },
  });
  expect(res.status).toBe(200);
  return res.body.decision;
}
const grantRows = async (id: string) =>
  t.sql`select user_id, level, cooperation_id, organization_id from grants where resource_id = ${id} order by user_id`;

/** Owner O with a park in its first portfolio, partner P with members, an active share. */
async function coopWorld(share: { on: ResourceType; level: JobLevel }) {
  const owner = await createOrg(t);
  const partner = await createOrg(t);
  const park = await createPark(t, owner.admin, owner.portfolioId);
  const resource = { type: share.on, id: share.on === "park" ? park : owner.portfolioId };
  const coopId = await createActiveCooperation(t, owner.id, partner.id, [{ resource, level: share.level }]);
  return {
    owner,
    partner,
    park,
    coopId,
    resource,
    pm: await addMemberTo(t, partner.id, "member"),
    pe: await addMemberTo(t, partner.id, "external"),
    pmod: await addMemberTo(t, partner.id, "moderator"),
    om: await addMemberTo(t, owner.id, "member"),
  };
}

const put = (actor: string, type: ResourceType, id: string, user: string, level: JobLevel) =>
  t.json("PUT", `/v1/${type}s/${id}/grants/${user}`, { actor, body: { level } });

describe("delegation by partner admins (R-C8, R-C9, R-C11)", () => {
  it("R-C8 refuses delegating asset_manager on a technical_manager share; allows viewer", async () => {
    const w = await coopWorld({ on: "portfolio", level: "technical_manager" });
    for (const level of ["asset_manager", "operator"] as const) {
      const res = await put(w.partner.admin, "park", w.park, w.pm, level);
      expect([res.status, res.body.code], level).toEqual([403, "level-above-cap"]);
    }
    expect(await grantRows(w.park)).toHaveLength(0);
    const ok = await put(w.partner.admin, "park", w.park, w.pm, "viewer");
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({
      userId: w.pm,
      level: "viewer",
      effectiveLevel: "viewer",
      organizationId: w.partner.id,
      cooperationId: w.coopId,
    });
    const raised = await put(w.partner.admin, "park", w.park, w.pm, "technical_manager");
    expect([raised.status, raised.body.effectiveLevel]).toEqual([200, "technical_manager"]);
    expect(await decide(w.pm, "can_close_ticket", "park", w.park)).toBe(true);
    expect(await decide(w.pm, "can_manage_contracts", "park", w.park)).toBe(false);
    // On the shared portfolio itself as well.
    await grant(t, w.partner.admin, "portfolio", w.owner.portfolioId, w.pm, "technical_manager");
    expect(await decide(w.pm, "can_run_diagnostics", "portfolio", w.owner.portfolioId)).toBe(true);
    const audit = await t.sql`select organization_ids from audit_events where action = 'delegation.set'
      and target_id = ${w.park} order by id`;
    expect(audit).toHaveLength(2);
    expect([...audit[0]!.organization_ids].sort()).toEqual([w.owner.id, w.partner.id].sort());
  });

  it("R-C8 R-O4 a partner external gets at most viewer", async () => {
    const w = await coopWorld({ on: "park", level: "operator" });
    const res = await put(w.partner.admin, "park", w.park, w.pe, "technical_manager");
    expect([res.status, res.body.code]).toEqual([403, "level-above-external-cap"]);
    expect(await grantRows(w.park)).toHaveLength(0);
    expect((await put(w.partner.admin, "park", w.park, w.pe, "viewer")).status).toBe(201);
    expect(await decide(w.pe, "can_view", "park", w.park)).toBe(true);
  });

  it("R-C11 a partner admin never grants to owner members, never sees or removes owner grants", async () => {
    const w = await coopWorld({ on: "park", level: "operator" });
    const toOwner = await put(w.partner.admin, "park", w.park, w.om, "viewer");
    expect([toOwner.status, toOwner.body.code]).toEqual([409, "not-a-member"]);
    const third = await createOrg(t);
    expect((await put(w.partner.admin, "park", w.park, third.admin, "viewer")).body.code).toBe(
      "not-a-member",
    );
    // Partner moderators are not partner admins: no delegation.
    expect((await put(w.pmod, "park", w.park, w.pm, "viewer")).status).toBe(403);
    expect(await grantRows(w.park)).toHaveLength(0);

    await grant(t, w.owner.admin, "park", w.park, w.om, "operator");
    await grant(t, w.partner.admin, "park", w.park, w.pm, "viewer");
    const gone = await t.json("DELETE", `/v1/parks/${w.park}/grants/${w.om}`, { actor: w.partner.admin });
    expect([gone.status, gone.body.code]).toEqual([404, "grant-not-found"]);
    const partnerList = await t.json("GET", `/v1/parks/${w.park}/grants`, { actor: w.partner.admin });
    expect(partnerList.body.items.map((i: { userId: string }) => i.userId)).toEqual([w.pm]);
    const ownerList = await t.json("GET", `/v1/parks/${w.park}/grants`, { actor: w.owner.admin });
    expect(ownerList.body.items).toHaveLength(2);
    expect(ownerList.body.items.find((i: { userId: string }) => i.userId === w.pm)).toMatchObject({
      organizationId: w.partner.id,
      cooperationId: w.coopId,
    });
    expect(await grantRows(w.park)).toHaveLength(2);
  });

  it("R-C9 a share lowered from operator to viewer clamps a delegated technical_manager live; raising restores", async () => {
    const w = await coopWorld({ on: "park", level: "operator" });
    await grant(t, w.partner.admin, "park", w.park, w.pm, "technical_manager");
    const sharePath = `/v1/cooperations/${w.coopId}/shares/park/${w.park}`;
    const effective = async () => {
      const list = await t.json("GET", `/v1/parks/${w.park}/grants`, { actor: w.owner.admin });
      return list.body.items[0].effectiveLevel;
    };
    expect(await effective()).toBe("technical_manager");
    expect(await decide(w.pm, "can_close_ticket", "park", w.park)).toBe(true);
    const lowered = await t.json("PUT", sharePath, { actor: w.owner.admin, body: { level: "viewer" } });
    expect(lowered.status).toBe(200);
    expect(await effective()).toBe("viewer");
    expect(await decide(w.pm, "can_close_ticket", "park", w.park)).toBe(false);
    expect(await decide(w.pm, "can_view", "park", w.park)).toBe(true);
    // The delegated level is kept; delegating above the lowered cap is refused.
    expect((await grantRows(w.park))[0]).toMatchObject({ level: "technical_manager" });
    const above = await put(w.partner.admin, "park", w.park, w.pm, "technical_manager");
    expect([above.status, above.body.code]).toEqual([403, "level-above-cap"]);
    await t.json("PUT", sharePath, { actor: w.owner.admin, body: { level: "operator" } });
    expect(await effective()).toBe("technical_manager");
    expect(await decide(w.pm, "can_close_ticket", "park", w.park)).toBe(true);
    expect(await decide(w.pm, "can_configure_settings", "park", w.park)).toBe(false);
  });

  it("a paused cooperation lets nobody delegate; resuming restores the delegation", async () => {
    const w = await coopWorld({ on: "portfolio", level: "asset_manager" });
    await grant(t, w.partner.admin, "park", w.park, w.pm, "asset_manager");
    expect(
      (await t.json("POST", `/v1/cooperations/${w.coopId}/pause`, { actor: w.owner.admin })).status,
    ).toBe(200);
    const res = await put(w.partner.admin, "park", w.park, w.pm, "viewer");
    expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
    expect((await t.json("GET", `/v1/parks/${w.park}/grants`, { actor: w.partner.admin })).status).toBe(403);
    expect(await decide(w.pm, "can_view", "park", w.park)).toBe(false);
    expect(await grantRows(w.park)).toMatchObject([{ level: "asset_manager" }]);
    await t.json("POST", `/v1/cooperations/${w.coopId}/resume`, { actor: w.owner.admin });
    expect(await decide(w.pm, "can_manage_contracts", "park", w.park)).toBe(true);
  });

  it("R-C6 an expired cooperation lets nobody delegate, without any other action", async () => {
    const w = await coopWorld({ on: "park", level: "operator" });
    await grant(t, w.partner.admin, "park", w.park, w.pm, "viewer");
    const expiresAt = new Date(Date.now() + 2500).toISOString();
    const patched = await t.json("PATCH", `/v1/cooperations/${w.coopId}`, {
      actor: w.owner.admin,
      body: { expiresAt },
    });
    expect(patched.status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now()) + 300));
    const res = await put(w.partner.admin, "park", w.park, w.pm, "technical_manager");
    expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
    expect(await grantRows(w.park)).toMatchObject([{ level: "viewer" }]);
    expect(await decide(w.pm, "can_view", "park", w.park)).toBe(false);
  });

  it("R-C9 moving a park out of a shared portfolio deletes delegations no share covers any more", async () => {
    const w = await coopWorld({ on: "portfolio", level: "viewer" });
    const other = await createPortfolio(t, w.owner.admin, w.owner.id);
    const covered = await createPark(t, w.owner.admin, w.owner.portfolioId);
    await t.json("PUT", `/v1/cooperations/${w.coopId}/shares/park/${covered}`, {
      actor: w.owner.admin,
      body: { level: "viewer" },
    });
    await grant(t, w.partner.admin, "park", w.park, w.pm, "viewer");
    await grant(t, w.partner.admin, "park", covered, w.pm, "viewer");
    await grant(t, w.owner.admin, "park", w.park, w.om, "viewer");
    for (const park of [w.park, covered]) {
      const moved = await t.json("PUT", `/v1/parks/${park}`, {
        actor: w.owner.admin,
        body: { portfolioId: other, name: "Moved" },
      });
      expect(moved.status).toBe(200);
    }
    expect(await grantRows(w.park)).toEqual([
      { user_id: w.om, level: "viewer", cooperation_id: null, organization_id: w.owner.id },
    ]);
    expect(await decide(w.pm, "can_view", "park", w.park)).toBe(false);
    expect(await grantRows(covered)).toHaveLength(1);
    expect(await decide(w.pm, "can_view", "park", covered)).toBe(true);
    const audit = await t.sql`select organization_ids from audit_events where action = 'delegation.removed'
      and target_id = ${w.park}`;
    expect(audit).toHaveLength(1);
  });

  it("R-H2 deleting a shared park removes its shares and delegations: no dangling share", async () => {
    const w = await coopWorld({ on: "park", level: "technical_manager" });
    await grant(t, w.partner.admin, "park", w.park, w.pm, "viewer");
    expect((await t.request("DELETE", `/v1/parks/${w.park}`, { actor: w.owner.admin })).status).toBe(204);
    expect(await t.sql`select 1 from shares where resource_id = ${w.park}`).toHaveLength(0);
    expect(await grantRows(w.park)).toHaveLength(0);
    expect(await decide(w.partner.admin, "can_view", "park", w.park)).toBe(false);
    const coop = await t.json("GET", `/v1/cooperations/${w.coopId}`, { actor: w.owner.admin });
    expect(coop.body.shares).toEqual([]);
    // The id can be registered again from scratch, with nothing attached.
    await createPark(t, w.owner.admin, w.owner.portfolioId, w.park);
    expect(await decide(w.partner.admin, "can_view", "park", w.park)).toBe(false);
    expect(await decide(w.pm, "can_view", "park", w.park)).toBe(false);
  });

  it("partner admins remove their delegations, and so may the owner's managers", async () => {
    const w = await coopWorld({ on: "portfolio", level: "operator" });
    const pm2 = await addMemberTo(t, w.partner.id, "member");
    await grant(t, w.partner.admin, "park", w.park, w.pm, "operator");
    await grant(t, w.partner.admin, "park", w.park, pm2, "viewer");
    expect(
      (await t.request("DELETE", `/v1/parks/${w.park}/grants/${w.pm}`, { actor: w.partner.admin })).status,
    ).toBe(204);
    expect(await decide(w.pm, "can_view", "park", w.park)).toBe(false);
    expect(
      (await t.request("DELETE", `/v1/parks/${w.park}/grants/${pm2}`, { actor: w.owner.admin })).status,
    ).toBe(204);
    expect(await grantRows(w.park)).toHaveLength(0);
    const audit = await t.sql`select organization_ids from audit_events where action = 'delegation.removed'
      and target_id = ${w.park}`;
    expect(audit).toHaveLength(2);
    for (const a of audit) expect([...a.organization_ids].sort()).toEqual([w.owner.id, w.partner.id].sort());
  });

  it("R-H2 R-G3 a park deleted while it is shared and delegated leaves no dangling share, and the engine agrees", async () => {
    for (let round = 0; round < 3; round++) {
      const w = await coopWorld({ on: "portfolio", level: "operator" });
      const results = await Promise.all([
        t.json("PUT", `/v1/cooperations/${w.coopId}/shares/park/${w.park}`, {
          actor: w.owner.admin,
          body: { level: "viewer" },
        }),
        put(w.partner.admin, "park", w.park, w.pm, "technical_manager"),
        t.json("DELETE", `/v1/parks/${w.park}`, { actor: w.owner.admin }),
      ]);
      for (const [i, r] of results.entries()) {
        expect(r.status, `${i} ${JSON.stringify(r.body)}`).toBeLessThan(500);
      }
      expect(results[2]!.status).toBe(204);
      expect(await t.sql`select 1 from parks where id = ${w.park}`).toHaveLength(0);
      expect(await grantRows(w.park)).toHaveLength(0);
      // A share written after the delete committed would dangle; the row locks order them.
      const dangling =
        await t.sql`select 1 from shares where resource_type = 'park' and resource_id = ${w.park}`;
      expect(dangling.length === 0 || results[0]!.status === 404).toBe(true);
    }
    const drift = await reconcile(t.deps, { repair: false });
    expect(describeDrift(drift)).toEqual([]);
  });
});
