import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapSysadmins } from "../../src/modules/platform/service.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg, emailOf, userId } from "../support/factories.js";
import { acceptInvitation, inviteMember } from "../support/invitation-factories.js";

describe("invitations: acceptance (R-I5…R-I9)", () => {
  let t: TestContext;
  let staff: string;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
    staff = userId("sales");
    await bootstrapSysadmins(t.deps, [staff]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (actor: string) => ({ actor, email: emailOf(actor) });
  const membership = async (user: string) =>
    (await t.sql`select organization_id, role from memberships where user_id = ${user}`)[0];
  const check = (user: string, relation: string, object: string) =>
    t.engine.check({ user: `user:${user}`, relation, object });

  async function platformInvite(email: string, organizationName?: string) {
    const res = await t.json("POST", "/v1/invitations", {
      ...as(staff),
      body: { type: "platform", email, ...(organizationName ? { organizationName } : {}) },
    });
    expect(res.status).toBe(201);
    return res.body as { invitation: { id: string }; token: string };
  }

  it("R-I6 platform: a new user creates the organization and its first portfolio and becomes admin", async () => {
    const user = userId("new");
    const inv = await platformInvite(emailOf(user), "Preset Name");
    const res = await acceptInvitation(t, {
      token: inv.token,
      actor: user,
      email: emailOf(user).toUpperCase(),
    });
    expect(res.invitation.status).toBe("accepted");
    const [org] = await t.sql`select name from organizations where id = ${res.organizationId}`;
    expect(org!.name).toBe("Preset Name");
    expect(await membership(user)).toEqual({ organization_id: res.organizationId, role: "admin" });
    const [pf] = await t.sql`select id from portfolios where organization_id = ${res.organizationId}`;
    expect(pf).toBeDefined();
    expect(await check(user, "can_manage_cooperations", `organization:${res.organizationId}`)).toBe(true);
    expect(await check(user, "can_configure_settings", `portfolio:${pf!.id}`)).toBe(true);
    const audits =
      await t.sql`select action from audit_events where ${res.organizationId} = any(organization_ids)`;
    expect(audits.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        "organization.created",
        "member.added",
        "portfolio.created",
        "invitation.accepted",
      ]),
    );
  });

  it("R-I6 platform: a name is required from the body when none was preset", async () => {
    const user = userId("new");
    const inv = await platformInvite(emailOf(user));
    const missing = await t.json("POST", "/v1/invitations/accept", {
      ...as(user),
      body: { token: inv.token },
    });
    expect([missing.status, missing.body.code]).toEqual([400, "organization-name-required"]);
    expect(await membership(user)).toBeUndefined();
    const ok = await acceptInvitation(t, {
      token: inv.token,
      actor: user,
      organizationName: "Chosen",
      portfolioName: "PF",
    });
    const [pf] = await t.sql`select name from portfolios where organization_id = ${ok.organizationId}`;
    expect(pf!.name).toBe("PF");
  });

  it("R-I6 platform: refused with 409 already-member for someone already in an organization", async () => {
    const org = await createOrg(t);
    const inv = await platformInvite(emailOf(org.admin), "Second");
    const orgsBefore = (await t.sql`select count(*)::int as n from organizations`)[0]!.n;
    const res = await t.json("POST", "/v1/invitations/accept", {
      ...as(org.admin),
      body: { token: inv.token },
    });
    expect([res.status, res.body.code, res.body.organizationId]).toEqual([409, "already-member", org.id]);
    expect((await t.sql`select count(*)::int as n from organizations`)[0]!.n).toBe(orgsBefore);
    const [row] = await t.sql`select status from invitations where id = ${inv.invitation.id}`;
    expect(row!.status).toBe("pending");
  });

  it("R-I5 a wrong-email acceptor is refused with 403 email-mismatch and nothing changes", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    const other = userId("other");
    const wrong = await t.json("POST", "/v1/invitations/accept", {
      ...as(other),
      body: { token: inv.token },
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, "email-mismatch"]);
    const noEmail = await t.json("POST", "/v1/invitations/accept", {
      actor: inv.invitee,
      body: { token: inv.token },
    });
    expect([noEmail.status, noEmail.body.code]).toEqual([403, "email-mismatch"]);
    expect(await membership(other)).toBeUndefined();
    expect(await membership(inv.invitee)).toBeUndefined();
    const [row] = await t.sql`select status from invitations where id = ${inv.invitationId}`;
    expect(row!.status).toBe("pending");
  });

  it("R-I7 organization: joins with the invited role, visible to the engine", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, {
      organizationId: org.id,
      inviter: org.admin,
      role: "asset_manager_technical",
    });
    const res = await acceptInvitation(t, { token: inv.token, actor: inv.invitee });
    expect(res.organizationId).toBe(org.id);
    expect(await membership(inv.invitee)).toEqual({
      organization_id: org.id,
      role: "asset_manager_technical",
    });
    expect(await check(inv.invitee, "can_run_diagnostics", `portfolio:${org.portfolioId}`)).toBe(true);
    expect(await check(inv.invitee, "can_configure_settings", `portfolio:${org.portfolioId}`)).toBe(false);
  });

  it("R-I7 R-O7 organization: a member of another organization gets 409 already-member with its id", async () => {
    const org = await createOrg(t);
    const other = await createOrg(t);
    const member = await addMemberTo(t, other.id, "member");
    const inv = await inviteMember(t, {
      organizationId: org.id,
      inviter: org.admin,
      role: "member",
      invitee: member,
    });
    const res = await t.json("POST", "/v1/invitations/accept", { ...as(member), body: { token: inv.token } });
    expect([res.status, res.body.code, res.body.organizationId]).toEqual([409, "already-member", other.id]);
    expect(await membership(member)).toEqual({ organization_id: other.id, role: "member" });
    const [row] = await t.sql`select status from invitations where id = ${inv.invitationId}`;
    expect(row!.status).toBe("pending");
  });

  it("R-I9 accepting twice by the same actor returns the same result; someone else gets 409", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    const first = await acceptInvitation(t, { token: inv.token, actor: inv.invitee });
    const second = await acceptInvitation(t, { token: inv.token, actor: inv.invitee });
    expect(second).toEqual(first);
    const sameEmail = userId("twin");
    const other = await t.json("POST", "/v1/invitations/accept", {
      actor: sameEmail,
      email: inv.email,
      body: { token: inv.token },
    });
    expect([other.status, other.body.code]).toEqual([409, "invitation-already-accepted"]);
    expect(await membership(sameEmail)).toBeUndefined();
    const events = await t.sql`select topic from outbox where aggregate_id = ${inv.invitationId} order by id`;
    expect(events.map((e) => e.topic)).toEqual(["invitation.created", "invitation.accepted"]);
  });

  it("R-I9 20 concurrent accepts of one invitation: exactly one membership, no 5xx", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "moderator" });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.json("POST", "/v1/invitations/accept", { ...as(inv.invitee), body: { token: inv.token } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.status === 200)) expect(r.body.organizationId).toBe(org.id);
    const rows = await t.sql`select organization_id, role from memberships where user_id = ${inv.invitee}`;
    expect(rows).toEqual([{ organization_id: org.id, role: "moderator" }]);
    const added =
      await t.sql`select 1 from audit_events where action = 'member.added' and target_id = ${inv.invitee}`;
    expect(added).toHaveLength(1);
    const events =
      await t.sql`select 1 from outbox where aggregate_id = ${inv.invitationId} and topic = 'invitation.accepted'`;
    expect(events).toHaveLength(1);
  });

  it("R-I9 20 concurrent accepts by different actors with the invited email: exactly one wins", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    const actors = Array.from({ length: 20 }, () => userId("racer"));
    const results = await Promise.all(
      actors.map((a) =>
        t.json("POST", "/v1/invitations/accept", { actor: a, email: inv.email, body: { token: inv.token } }),
      ),
    );
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(19);
    const members =
      await t.sql`select user_id from memberships where organization_id = ${org.id} and user_id in ${t.sql(actors)}`;
    expect(members).toHaveLength(1);
  });

  it("GET /v1/invitations/{id} is readable by the addressee and the sender side only", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    expect((await t.json("GET", `/v1/invitations/${inv.invitationId}`, as(inv.invitee))).status).toBe(200);
    expect((await t.json("GET", `/v1/invitations/${inv.invitationId}`, as(userId()))).status).toBe(403);
    expect((await t.json("GET", "/v1/invitations/inv_unknown", as(org.admin))).status).toBe(404);
  });
});
