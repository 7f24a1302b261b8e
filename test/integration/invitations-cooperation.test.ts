import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import { parkTuples } from "../../src/kernel/tuples.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg, emailOf, userId } from "../support/factories.js";
import { acceptInvitation, shareWithPartner } from "../support/invitation-factories.js";

describe("invitations: cooperation (R-I8, R-C1, R-C3, R-C4)", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (actor: string) => ({ actor, email: emailOf(actor) });
  const check = (user: string, relation: string, object: string) =>
    t.engine.check({ user: `user:${user}`, relation, object });

  async function park(organizationId: string, portfolioId: string) {
    const id = userId("park");
    await runChange(t.deps, t.actor("system"), async (uow) => {
      await uow.tx`insert into parks (id, portfolio_id, organization_id, name) values (${id}, ${portfolioId}, ${organizationId}, 'Park')`;
      uow.tuples([], parkTuples({ id, organizationId, portfolioId }));
    });
    return id;
  }

  const coopBody = (ownerId: string, partner: object, shares: object[]) => ({
    type: "cooperation",
    organizationId: ownerId,
    partner,
    shares,
  });

  it("R-I8 addressed to an organization id: the partner admin accepts without a token; shares become visible", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const partnerMember = await addMemberTo(t, partner.id, "member");
    const p = await park(owner.id, owner.portfolioId);
    const shares = [
      { resource: { type: "park", id: p }, level: "viewer" },
      { resource: { type: "portfolio", id: owner.portfolioId }, level: "technical_manager" },
    ];
    const created = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: partner.id }, shares),
    });
    expect(created.status).toBe(201);
    expect(created.body.invitation).toMatchObject({
      partnerOrganizationId: partner.id,
      email: null,
      type: "cooperation",
    });
    // Pending: nothing shared yet (R-C6).
    expect(await check(partner.admin, "can_view", `park:${p}`)).toBe(false);
    const byMember = await t.json(
      "POST",
      `/v1/invitations/${created.body.invitation.id}/accept`,
      as(partnerMember),
    );
    expect(byMember.status).toBe(403);
    const byOwner = await t.json(
      "POST",
      `/v1/invitations/${created.body.invitation.id}/accept`,
      as(owner.admin),
    );
    expect(byOwner.status).toBe(403);
    expect(await check(partner.admin, "can_view", `park:${p}`)).toBe(false);
    const accepted = await t.json(
      "POST",
      `/v1/invitations/${created.body.invitation.id}/accept`,
      as(partner.admin),
    );
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({
      organizationId: partner.id,
      cooperationId: created.body.invitation.cooperationId,
    });
    expect(await check(partner.admin, "can_view", `park:${p}`)).toBe(true);
    expect(await check(partner.admin, "can_run_diagnostics", `portfolio:${owner.portfolioId}`)).toBe(true);
    expect(await check(partner.admin, "can_configure_settings", `portfolio:${owner.portfolioId}`)).toBe(
      false,
    );
    expect(await check(partnerMember, "can_view", `park:${p}`)).toBe(false);
    const [coop] =
      await t.sql`select state, partner_organization_id from cooperations where id = ${accepted.body.cooperationId}`;
    expect(coop).toEqual({ state: "active", partner_organization_id: partner.id });
    const again = await t.json(
      "POST",
      `/v1/invitations/${created.body.invitation.id}/accept`,
      as(partner.admin),
    );
    expect(again.body).toEqual(accepted.body);
  });

  it("R-I8 partner by email without an organization: the acceptor creates one and becomes its admin", async () => {
    const owner = await createOrg(t);
    const newcomer = userId("newcomer");
    const created = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { email: emailOf(newcomer) }, [
        { resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" },
      ]),
    });
    expect(created.status).toBe(201);
    const missing = await t.json("POST", "/v1/invitations/accept", {
      ...as(newcomer),
      body: { token: created.body.token },
    });
    expect([missing.status, missing.body.code]).toEqual([400, "organization-name-required"]);
    const res = await acceptInvitation(t, {
      token: created.body.token,
      actor: newcomer,
      organizationName: "Partner Co",
    });
    expect(res.cooperationId).toBe(created.body.invitation.cooperationId);
    const [m] = await t.sql`select organization_id, role from memberships where user_id = ${newcomer}`;
    expect(m).toEqual({ organization_id: res.organizationId, role: "admin" });
    expect(await check(newcomer, "can_view", `portfolio:${owner.portfolioId}`)).toBe(true);
  });

  it("R-I8 partner by email of an existing organization's admin: that organization becomes the partner", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const partnerMod = await addMemberTo(t, partner.id, "moderator");
    const viaMod = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { email: emailOf(partnerMod) }, []),
    });
    const refused = await t.json("POST", "/v1/invitations/accept", {
      ...as(partnerMod),
      body: { token: viaMod.body.token },
    });
    expect([refused.status, refused.body.code]).toEqual([403, "partner-admin-required"]);
    await t.json("POST", `/v1/invitations/${viaMod.body.invitation.id}/revoke`, as(owner.admin));
    const viaAdmin = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { email: emailOf(partner.admin) }, [
        { resource: { type: "portfolio", id: owner.portfolioId }, level: "operator" },
      ]),
    });
    expect(viaAdmin.status).toBe(201);
    const res = await acceptInvitation(t, { token: viaAdmin.body.token, actor: partner.admin });
    expect(res.organizationId).toBe(partner.id);
    expect(await check(partner.admin, "can_use_vpn", `portfolio:${owner.portfolioId}`)).toBe(true);
    // R-C11: operator through a cooperation never gives can_share.
    expect(await check(partner.admin, "can_share", `portfolio:${owner.portfolioId}`)).toBe(false);
  });

  it("R-I1 R-C3 R-C4 only owner admins send, for owned resources, each once", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const mod = await addMemberTo(t, owner.id, "moderator");
    const foreignPark = await park(partner.id, partner.portfolioId);
    const coopsBefore = (await t.sql`select count(*)::int as n from cooperations`)[0]!.n;
    const byMod = await t.json("POST", "/v1/invitations", {
      ...as(mod),
      body: coopBody(owner.id, { organizationId: partner.id }, []),
    });
    expect(byMod.status).toBe(403);
    const foreign = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: partner.id }, [
        { resource: { type: "park", id: foreignPark }, level: "viewer" },
      ]),
    });
    expect([foreign.status, foreign.body.code]).toEqual([403, "resource-not-owned"]);
    const unknown = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: partner.id }, [
        { resource: { type: "park", id: "nope" }, level: "viewer" },
      ]),
    });
    expect([unknown.status, unknown.body.code]).toEqual([403, "resource-not-owned"]);
    const pf = { resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" };
    const dup = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: partner.id }, [pf, { ...pf, level: "operator" }]),
    });
    expect([dup.status, dup.body.code]).toEqual([400, "duplicate-share"]);
    const self = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: owner.id }, []),
    });
    expect([self.status, self.body.code]).toEqual([400, "cooperation-with-itself"]);
    const badLevel = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: partner.id }, [{ ...pf, level: "admin" }]),
    });
    expect(badLevel.status).toBe(400);
    expect((await t.sql`select count(*)::int as n from cooperations`)[0]!.n).toBe(coopsBefore);
  });

  it("R-C1 a second invitation to the same partner is 409 cooperation-exists; revoking frees the pair", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const body = coopBody(owner.id, { organizationId: partner.id }, [
      { resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" },
    ]);
    const first = await t.json("POST", "/v1/invitations", { ...as(owner.admin), body });
    expect(first.status).toBe(201);
    const second = await t.json("POST", "/v1/invitations", { ...as(owner.admin), body });
    expect([second.status, second.body.code]).toEqual([409, "cooperation-exists"]);
    const revoked = await t.json(
      "POST",
      `/v1/invitations/${first.body.invitation.id}/revoke`,
      as(owner.admin),
    );
    expect(revoked.status).toBe(200);
    const [coop] =
      await t.sql`select state from cooperations where id = ${first.body.invitation.cooperationId}`;
    expect(coop!.state).toBe("ended");
    expect(
      await t.sql`select 1 from shares where cooperation_id = ${first.body.invitation.cooperationId}`,
    ).toHaveLength(0);
    const third = await t.json("POST", "/v1/invitations", { ...as(owner.admin), body });
    expect(third.status).toBe(201);
  });

  it("R-I10 org-addressed events go to the partner organization's admins; declining ends the pending cooperation", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const created = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { organizationId: partner.id }, []),
    });
    const [ev] = await t.sql`select payload from outbox where aggregate_id = ${created.body.invitation.id}`;
    expect(ev!.payload.recipients).toEqual({ organizationId: partner.id, emails: [emailOf(partner.admin)] });
    const declined = await t.json("POST", "/v1/invitations/decline", {
      ...as(partner.admin),
      body: { token: created.body.token },
    });
    expect([declined.status, declined.body.invitation.status]).toEqual([200, "declined"]);
    const [coop] =
      await t.sql`select state from cooperations where id = ${created.body.invitation.cooperationId}`;
    expect(coop!.state).toBe("ended");
  });

  it("shareWithPartner factory builds an active cooperation", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const { cooperationId } = await shareWithPartner(t, owner, partner, [
      { resource: { type: "portfolio", id: owner.portfolioId }, level: "asset_manager" },
    ]);
    expect(cooperationId).toMatch(/^coop_/);
    expect(await check(partner.admin, "can_manage_contracts", `portfolio:${owner.portfolioId}`)).toBe(true);
  });
  it("R-C5 the cooperation's expiresAt must be in the future and is kept on activation", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const shares = [{ resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" }];
    const past = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: {
        ...coopBody(owner.id, { organizationId: partner.id }, shares),
        expiresAt: "2001-01-01T00:00:00Z",
      },
    });
    expect([past.status, past.body.code]).toEqual([400, "invalid-expiry"]);
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const { cooperationId } = await shareWithPartner(t, owner, partner, shares as never, { expiresAt });
    const [c] = await t.sql`select state, expires_at from cooperations where id = ${cooperationId}`;
    expect(c!.state).toBe("active");
    expect((c!.expires_at as Date).toISOString()).toBe(expiresAt);
    expect(await check(partner.admin, "can_view", `portfolio:${owner.portfolioId}`)).toBe(true);
  });

  it("R-C5 R-I4 ending a pending cooperation revokes its invitation: the token answers 410 and nothing is shared", async () => {
    const owner = await createOrg(t);
    const invitee = userId("newco");
    const created = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: coopBody(owner.id, { email: emailOf(invitee) }, [
        { resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" },
      ]),
    });
    expect(created.status).toBe(201);
    const coopId = created.body.invitation.cooperationId as string;
    const ended = await t.json("POST", `/v1/cooperations/${coopId}/end`, { actor: owner.admin });
    expect([ended.status, ended.body.state]).toEqual([200, "ended"]);

    const inv = await t.json("GET", `/v1/invitations/${created.body.invitation.id}`, as(owner.admin));
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    expect(inv.body.invitation.status).toBe("revoked");
    const accept = await t.json("POST", "/v1/invitations/accept", {
      ...as(invitee),
      body: { token: created.body.token, organizationName: "NewCo" },
    });
    expect([accept.status, accept.body.code]).toEqual([410, "invitation-revoked"]);
    expect(await t.sql`select 1 from memberships where user_id = ${invitee}`).toHaveLength(0);
    const events =
      await t.sql`select topic from outbox where aggregate_id = ${created.body.invitation.id} order by id`;
    expect(events.map((e) => e.topic)).toEqual(["invitation.created", "invitation.revoked"]);
  });
});
