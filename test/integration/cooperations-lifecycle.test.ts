import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeDrift, reconcile } from "../../src/engine-sync/reconcile.js";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import { createPendingCooperation } from "../../src/modules/cooperations/index.js";
import { createTestContext, type TestContext } from "../support/app.js";
import {
  activeCooperation,
  coopWorld,
  decide,
  decisionMatrix,
  delegated,
  pendingCooperation,
  share,
} from "../support/coop-factories.js";
import { addMemberTo, createOrg } from "../support/factories.js";

// One permission per column of SPEC §2 (each level's set is told apart), plus the non-level ones.
const ACTIONS = [
  "can_view",
  "can_create_ticket",
  "can_manage_contracts",
  "can_close_ticket",
  "can_configure_settings",
  "can_manage_access",
  "can_share",
  "can_view_audit_log",
];

describe("cooperations lifecycle", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "10000" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (id: string, verb: string, actor: string) =>
    t.json("POST", `/v1/cooperations/${id}/${verb}`, { actor });
  const get = (id: string, actor: string) => t.json("GET", `/v1/cooperations/${id}`, { actor });

  it("R-C1 allows one non-ended cooperation per ordered pair, mutual ones, and a new one after ending", async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    const first = await activeCooperation(t, { owner: a.id, partner: b.id });
    await expect(activeCooperation(t, { owner: a.id, partner: b.id })).rejects.toMatchObject({
      code: "cooperation-exists",
    });
    await expect(pendingCooperation(t, { owner: a.id, partner: b.id })).rejects.toMatchObject({
      code: "cooperation-exists",
    });
    // Mutual sharing is two cooperations.
    await activeCooperation(t, { owner: b.id, partner: a.id });
    expect((await post(first.id, "end", a.admin)).status).toBe(200);
    const again = await activeCooperation(t, { owner: a.id, partner: b.id });
    expect(again.id).not.toBe(first.id);
  });

  it("R-C1 never links an organization with itself", async () => {
    const a = await createOrg(t);
    await expect(
      runChange(t.deps, t.actor("system"), (uow) =>
        createPendingCooperation(uow, {
          ownerOrganizationId: a.id,
          partnerOrganizationId: a.id,
          expiresAt: null,
          shares: [],
        }),
      ),
    ).rejects.toMatchObject({ code: "cooperation-with-itself" });
    const [n] =
      await t.sql`select count(*)::int as n from cooperations where owner_organization_id = ${a.id}`;
    expect(n?.n).toBe(0);
  });

  it("R-C2 lets only owner admins pause, resume and change expiry; either side's admins end", async () => {
    const w = await coopWorld(t);
    const moderator = await addMemberTo(t, w.owner.id, "moderator");
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "viewer")],
    });
    for (const actor of [w.partner.admin, moderator, w.amt]) {
      const res = await post(c.id, "pause", actor);
      expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
      const patch = await t.json("PATCH", `/v1/cooperations/${c.id}`, {
        actor,
        body: { expiresAt: null },
      });
      expect(patch.status).toBe(403);
    }
    for (const actor of [moderator, w.amt]) expect((await post(c.id, "end", actor)).status).toBe(403);
    expect((await get(c.id, w.owner.admin)).body.state).toBe("active");
    expect((await get(c.id, moderator)).status).toBe(403);
    // The partner admin may leave (end) it.
    const ended = await post(c.id, "end", w.partner.admin);
    expect([ended.status, ended.body.state]).toEqual([200, "ended"]);
  });

  it("R-C5 guards transitions: pause only active, resume only paused, nothing after end", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, { owner: w.owner.id, partner: w.partner.id });
    const resume = await post(c.id, "resume", w.owner.admin);
    expect([resume.status, resume.body.code]).toEqual([409, "invalid-state-transition"]);
    expect((await post(c.id, "pause", w.owner.admin)).body.state).toBe("paused");
    const twice = await post(c.id, "pause", w.owner.admin);
    expect([twice.status, twice.body.code]).toEqual([409, "invalid-state-transition"]);
    expect((await post(c.id, "resume", w.owner.admin)).body.state).toBe("active");
    expect((await post(c.id, "end", w.owner.admin)).body.state).toBe("ended");
    for (const verb of ["pause", "resume", "end"]) {
      const res = await post(c.id, verb, w.owner.admin);
      expect([res.status, res.body.code]).toEqual([409, "invalid-state-transition"]);
    }
    const patch = await t.json("PATCH", `/v1/cooperations/${c.id}`, {
      actor: w.owner.admin,
      body: { expiresAt: new Date(Date.now() + 60_000).toISOString() },
    });
    expect([patch.status, patch.body.code]).toEqual([409, "cooperation-ended"]);
    const shareAfterEnd = await t.json("PUT", `/v1/cooperations/${c.id}/shares/park/${w.park}`, {
      actor: w.owner.admin,
      body: { level: "viewer" },
    });
    expect([shareAfterEnd.status, shareAfterEnd.body.code]).toEqual([409, "cooperation-ended"]);
    expect(await decide(t, w.partner.admin, "can_view", `park:${w.park}`)).toBe(false);
    expect((await get(c.id, w.owner.admin)).body).toMatchObject({ state: "ended", expiresAt: null });
    const pending = await pendingCooperation(t, { owner: w.partner.id, partner: w.owner.id });
    const pausePending = await post(pending.id, "pause", w.partner.admin);
    expect(pausePending.status).toBe(409);
    expect((await post(pending.id, "end", w.partner.admin)).body.state).toBe("ended");
  });

  it("R-C5 R-C6 expiry a few seconds ahead: allowed before, denied after with no other action; extending restores", async () => {
    const w = await coopWorld(t);
    const expiresAt = new Date(Date.now() + 3000);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "operator")],
      expiresAt,
    });
    expect(await decide(t, w.partner.admin, "can_use_vpn", `park:${w.park}`)).toBe(true);
    expect((await get(c.id, w.partner.admin)).body).toMatchObject({
      state: "active",
      expiresAt: expiresAt.toISOString(),
    });
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() - Date.now()) + 300));
    expect(await decide(t, w.partner.admin, "can_use_vpn", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.partner.admin, "can_view", `park:${w.park}`)).toBe(false);
    expect((await get(c.id, w.partner.admin)).body.state).toBe("expired");
    // An expired cooperation cannot be paused; it can be extended.
    expect((await post(c.id, "pause", w.owner.admin)).body.code).toBe("invalid-state-transition");
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const ext = await t.json("PATCH", `/v1/cooperations/${c.id}`, {
      actor: w.owner.admin,
      body: { expiresAt: later },
    });
    expect([ext.status, ext.body.state, ext.body.expiresAt]).toEqual([200, "active", later]);
    expect(await decide(t, w.partner.admin, "can_use_vpn", `park:${w.park}`)).toBe(true);
    // Clearing the expiry keeps it active; an expiry in the past is refused.
    const past = await t.json("PATCH", `/v1/cooperations/${c.id}`, {
      actor: w.owner.admin,
      body: { expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    expect([past.status, past.body.code]).toEqual([400, "expiry-in-past"]);
    const cleared = await t.json("PATCH", `/v1/cooperations/${c.id}`, {
      actor: w.owner.admin,
      body: { expiresAt: null },
    });
    expect([cleared.body.state, cleared.body.expiresAt]).toEqual(["active", null]);
    expect(await decide(t, w.partner.admin, "can_use_vpn", `park:${w.park}`)).toBe(true);
    const bad = await t.json("PATCH", `/v1/cooperations/${c.id}`, {
      actor: w.owner.admin,
      body: { expiresAt: "tomorrow" },
    });
    expect(bad.status).toBe(400);
  });

  it("R-C6 a pending cooperation shares nothing", async () => {
    const w = await coopWorld(t);
    await pendingCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "operator")],
    });
    for (const object of [`portfolio:${w.portfolio}`, `park:${w.park}`]) {
      expect(await decide(t, w.partner.admin, "can_view", object)).toBe(false);
      expect(await decide(t, w.partner.admin, "can_manage_access", object)).toBe(false);
    }
  });

  it("R-C10 R-C6 pause/resume restore exactly the previous decisions of every partner member", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "technical_manager"), share("park", w.park, "operator")],
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
      level: "technical_manager",
    });
    await delegated(t, {
      ...base,
      resource: { type: "park", id: w.park },
      userId: w.external,
      level: "viewer",
    });
    const users = [w.partner.admin, w.amt, w.member, w.external];
    const objects = [`portfolio:${w.portfolio}`, `park:${w.park}`];
    const before = await decisionMatrix(t, users, ACTIONS, objects);
    // Sanity: the matrix is not trivially all-false.
    expect(before[`user:${w.amt} can_configure_settings park:${w.park}`]).toBe(true);
    expect(before[`user:${w.member} can_close_ticket park:${w.park}`]).toBe(true);
    expect(before[`user:${w.external} can_view park:${w.park}`]).toBe(true);
    expect(before[`user:${w.partner.admin} can_configure_settings portfolio:${w.portfolio}`]).toBe(false);

    expect((await post(c.id, "pause", w.owner.admin)).body.state).toBe("paused");
    const during = await decisionMatrix(t, users, ACTIONS, objects);
    expect(Object.values(during).every((v) => v === false)).toBe(true);
    const [{ n }] = (await t.sql`select count(*)::int as n from grants where cooperation_id = ${c.id}`) as [
      { n: number },
    ];
    expect(n).toBe(3);

    expect((await post(c.id, "resume", w.owner.admin)).body.state).toBe("active");
    expect(await decisionMatrix(t, users, ACTIONS, objects)).toEqual(before);
    expect((await get(c.id, w.owner.admin)).body.shares).toHaveLength(2);
  });

  it("R-C10 R-C9 ending removes all shares and delegations (rows and decisions) and the audit shows both sides", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("portfolio", w.portfolio, "operator")],
    });
    await delegated(t, {
      actor: w.partner.admin,
      resource: { type: "park", id: w.park },
      userId: w.amt,
      level: "technical_manager",
    });
    expect(await decide(t, w.amt, "can_run_diagnostics", `park:${w.park}`)).toBe(true);
    const res = await post(c.id, "end", w.owner.admin);
    expect([res.status, res.body.state, res.body.shares]).toEqual([200, "ended", []]);
    expect(await t.sql`select 1 from shares where cooperation_id = ${c.id}`).toHaveLength(0);
    expect(await t.sql`select 1 from grants where cooperation_id = ${c.id}`).toHaveLength(0);
    expect(await decide(t, w.amt, "can_view", `park:${w.park}`)).toBe(false);
    expect(await decide(t, w.partner.admin, "can_view", `portfolio:${w.portfolio}`)).toBe(false);
    // No tuple of the cooperation is left in the engine.
    const left: string[] = [];
    for await (const tu of t.engine.readAll()) {
      if (tu.user === `cooperation:${c.id}` || tu.object === `cooperation:${c.id}`) left.push(tu.relation);
      if (tu.user === `user:${w.amt}` && tu.relation.startsWith("delegated_")) left.push(tu.relation);
    }
    expect(left).toEqual([]);
    // R-A1, R-A2: every change is audited for both organizations.
    const audit = await t.sql`select action, organization_ids from audit_events
      where (action like 'cooperation.%' and target_id = ${c.id})
        or (action like 'delegation.%' and target_id = ${w.park})
      order by id`;
    const mine = audit.filter((a) => (a.organization_ids as string[]).includes(w.owner.id));
    expect(mine.map((a) => a.action)).toEqual([
      "cooperation.created",
      "cooperation.activated",
      "delegation.set",
      "delegation.removed",
      "cooperation.ended",
    ]);
    for (const a of mine) expect(a.organization_ids).toEqual([w.owner.id, w.partner.id]);
  });

  it("R-C5 concurrent transitions: exactly one of simultaneous pauses wins, and the engine stays in step", async () => {
    const w = await coopWorld(t);
    const c = await activeCooperation(t, {
      owner: w.owner.id,
      partner: w.partner.id,
      shares: [share("park", w.park, "operator")],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    await delegated(t, {
      actor: w.partner.admin,
      resource: { type: "park", id: w.park },
      userId: w.amt,
      level: "viewer",
    });
    const pauses = await Promise.all([1, 2, 3, 4].map(() => post(c.id, "pause", w.owner.admin)));
    expect(pauses.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    const ends = await Promise.all([
      post(c.id, "resume", w.owner.admin),
      post(c.id, "end", w.partner.admin),
      post(c.id, "end", w.owner.admin),
    ]);
    expect(ends.filter((r) => r.status === 200 && r.body.state === "ended")).toHaveLength(1);
    expect((await get(c.id, w.owner.admin)).body.state).toBe("ended");
    // Every change wrote exactly the tuples the database implies.
    const drift = await reconcile(t.deps, { repair: false });
    expect(describeDrift(drift)).toEqual([]);
  });
});
