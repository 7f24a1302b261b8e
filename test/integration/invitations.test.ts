import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expireDue } from "../../src/modules/invitations/lifecycle.js";
import { bootstrapSysadmins } from "../../src/modules/platform/service.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg, emailOf, userId } from "../support/factories.js";
import { acceptInvitation, inviteMember } from "../support/invitation-factories.js";

describe("invitations: creation, tokens, lifecycle", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (actor: string) => ({ actor, email: emailOf(actor) });
  const count = async (table: string) =>
    Number((await t.sql.unsafe(`select count(*)::int as n from ${table}`))[0]!.n);

  it("R-I1 platform invitations are sent by platform staff only", async () => {
    const staff = userId("sys");
    await bootstrapSysadmins(t.deps, [staff]);
    const org = await createOrg(t);
    const before = await count("invitations");
    const refused = await t.json("POST", "/v1/invitations", {
      ...as(org.admin),
      body: { type: "platform", email: "new@example.test" },
    });
    expect([refused.status, refused.body.code]).toEqual([403, "forbidden"]);
    expect(await count("invitations")).toBe(before);
    const ok = await t.json("POST", "/v1/invitations", {
      ...as(staff),
      body: { type: "platform", email: "New.Customer@Example.test", organizationName: "Acme" },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.invitation).toMatchObject({
      type: "platform",
      status: "pending",
      email: "new.customer@example.test",
      organizationName: "Acme",
      inviterId: staff,
    });
    const days = (Date.parse(ok.body.invitation.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
  });

  it("R-I1 R-O5 a moderator invites only roles it may assign; members invite nobody", async () => {
    const org = await createOrg(t);
    const mod = await addMemberTo(t, org.id, "moderator");
    const member = await addMemberTo(t, org.id, "member");
    const before = await count("invitations");
    for (const role of ["admin", "moderator"]) {
      const res = await t.json("POST", "/v1/invitations", {
        ...as(mod),
        body: { type: "organization", organizationId: org.id, email: "x@example.test", role },
      });
      expect([res.status, res.body.code]).toEqual([403, "role-not-assignable"]);
    }
    const byMember = await t.json("POST", "/v1/invitations", {
      ...as(member),
      body: { type: "organization", organizationId: org.id, email: "x@example.test", role: "member" },
    });
    expect(byMember.status).toBe(403);
    expect(await count("invitations")).toBe(before);
    const ok = await t.json("POST", "/v1/invitations", {
      ...as(mod),
      body: {
        type: "organization",
        organizationId: org.id,
        email: "x@example.test",
        role: "asset_manager_technical",
      },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.invitation).toMatchObject({ organizationId: org.id, role: "asset_manager_technical" });
  });

  it("R-I4 refuses a lifetime above 30 days and bad bodies with 400", async () => {
    const org = await createOrg(t);
    for (const body of [
      {
        type: "organization",
        organizationId: org.id,
        email: "a@example.test",
        role: "member",
        expiresInDays: 31,
      },
      { type: "organization", organizationId: org.id, email: "not-an-email", role: "member" },
      { type: "organization", organizationId: org.id, email: "a@example.test", role: "owner" },
      { type: "nope", email: "a@example.test" },
    ]) {
      const res = await t.json("POST", "/v1/invitations", { ...as(org.admin), body });
      expect(res.status).toBe(400);
    }
    const ok = await t.json("POST", "/v1/invitations", {
      ...as(org.admin),
      body: {
        type: "organization",
        organizationId: org.id,
        email: "a@example.test",
        role: "member",
        expiresInDays: 30,
      },
    });
    expect(ok.status).toBe(201);
  });

  it("R-I3 tokens are long, URL-safe, stored only as a sha256 hash, never read back", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    expect(inv.token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const [row] = await t.sql`select token_hash, result from invitations where id = ${inv.invitationId}`;
    expect((row!.token_hash as Buffer).length).toBe(32);
    const rowText = JSON.stringify(
      await t.sql`select to_jsonb(i) as j from invitations i where id = ${inv.invitationId}`,
    );
    expect(rowText).not.toContain(inv.token);
    const outbox = JSON.stringify(
      await t.sql`select payload from outbox where aggregate_id = ${inv.invitationId}`,
    );
    expect(outbox).not.toContain(inv.token);
    const read = await t.json("GET", `/v1/invitations/${inv.invitationId}`, as(org.admin));
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(inv.token);
    expect(read.body.invitation.tokenHash).toBeUndefined();
    const audits = JSON.stringify(
      await t.sql`select action, before, after from audit_events where target_id = ${inv.invitationId}`,
    );
    expect(audits).not.toContain(inv.token);
  });

  it("R-I3 an unknown or malformed token is 404 invitation-not-found", async () => {
    for (const token of ["A".repeat(43), "short", "x".repeat(300)]) {
      const res = await t.json("POST", "/v1/invitations/accept", { ...as(userId()), body: { token } });
      expect([res.status, res.body.code]).toEqual([404, "invitation-not-found"]);
    }
  });

  it("R-I4 resend rotates the token (old one stops working) and restarts the lifetime", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    await t.sql`update invitations set expires_at = now() + interval '1 hour' where id = ${inv.invitationId}`;
    const resent = await t.json("POST", `/v1/invitations/${inv.invitationId}/resend`, as(org.admin));
    expect(resent.status).toBe(200);
    expect(resent.body.token).not.toBe(inv.token);
    expect(Date.parse(resent.body.invitation.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const old = await t.json("POST", "/v1/invitations/accept", {
      ...as(inv.invitee),
      body: { token: inv.token },
    });
    expect([old.status, old.body.code]).toEqual([404, "invitation-not-found"]);
    expect((await t.sql`select 1 from memberships where user_id = ${inv.invitee}`).length).toBe(0);
    const ok = await acceptInvitation(t, { token: resent.body.token, actor: inv.invitee });
    expect(ok.organizationId).toBe(org.id);
  });

  it("R-I4 revoke by the sender side; a revoked token is 410 invitation-revoked", async () => {
    const org = await createOrg(t);
    const mod = await addMemberTo(t, org.id, "moderator");
    const adminInv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "admin" });
    const refused = await t.json("POST", `/v1/invitations/${adminInv.invitationId}/revoke`, as(mod));
    expect(refused.status).toBe(403);
    const outsider = await t.json("POST", `/v1/invitations/${adminInv.invitationId}/resend`, as(userId()));
    expect(outsider.status).toBe(403);
    const revoked = await t.json("POST", `/v1/invitations/${adminInv.invitationId}/revoke`, as(org.admin));
    expect([revoked.status, revoked.body.invitation.status]).toEqual([200, "revoked"]);
    const accept = await t.json("POST", "/v1/invitations/accept", {
      ...as(adminInv.invitee),
      body: { token: adminInv.token },
    });
    expect([accept.status, accept.body.code]).toEqual([410, "invitation-revoked"]);
    const resend = await t.json("POST", `/v1/invitations/${adminInv.invitationId}/resend`, as(org.admin));
    expect([resend.status, resend.body.code]).toEqual([410, "invitation-revoked"]);
    expect((await t.sql`select 1 from memberships where user_id = ${adminInv.invitee}`).length).toBe(0);
  });

  it("R-I4 a pending invitation past expiry reads as expired, is refused with 410, and emits `expired` once", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    await t.sql`update invitations set expires_at = now() - interval '1 second' where id = ${inv.invitationId}`;
    const read = await t.json("GET", `/v1/invitations/${inv.invitationId}`, as(org.admin));
    expect(read.body.invitation.status).toBe("expired");
    for (let i = 0; i < 2; i++) {
      const res = await t.json("POST", "/v1/invitations/accept", {
        ...as(inv.invitee),
        body: { token: inv.token },
      });
      expect([res.status, res.body.code]).toEqual([410, "invitation-expired"]);
    }
    const preview = await t.json("POST", "/v1/invitations/preview", {
      ...as(inv.invitee),
      body: { token: inv.token },
    });
    expect(preview.status).toBe(410);
    const [row] = await t.sql`select status from invitations where id = ${inv.invitationId}`;
    expect(row!.status).toBe("expired");
    const events = await t.sql`select topic from outbox where aggregate_id = ${inv.invitationId} order by id`;
    expect(events.map((e) => e.topic)).toEqual(["invitation.created", "invitation.expired"]);
    expect((await t.sql`select 1 from memberships where user_id = ${inv.invitee}`).length).toBe(0);
  });

  it("R-I4 decline by the addressee; a declined invitation cannot be accepted", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    const wrong = await t.json("POST", "/v1/invitations/decline", {
      ...as(userId()),
      body: { token: inv.token },
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, "email-mismatch"]);
    const declined = await t.json("POST", "/v1/invitations/decline", {
      ...as(inv.invitee),
      body: { token: inv.token },
    });
    expect([declined.status, declined.body.invitation.status]).toEqual([200, "declined"]);
    const accept = await t.json("POST", "/v1/invitations/accept", {
      ...as(inv.invitee),
      body: { token: inv.token },
    });
    expect([accept.status, accept.body.code]).toEqual([409, "invitation-declined"]);
    expect((await t.sql`select 1 from memberships where user_id = ${inv.invitee}`).length).toBe(0);
  });

  it("preview shows type, organization, inviter, role and expiry, never the token", async () => {
    const org = await createOrg(t, { name: "Preview Org" });
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "external" });
    const res = await t.json("POST", "/v1/invitations/preview", {
      ...as(userId()),
      body: { token: inv.token },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      type: "organization",
      organizationName: "Preview Org",
      inviterId: org.admin,
      role: "external",
      expiresAt: expect.any(String),
    });
  });

  it("lists for the sender side with a status filter and pagination", async () => {
    const org = await createOrg(t);
    const mod = await addMemberTo(t, org.id, "moderator");
    const member = await addMemberTo(t, org.id, "member");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" })).invitationId,
      );
    await t.json("POST", `/v1/invitations/${ids[0]}/revoke`, as(org.admin));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/invitations?organizationId=${org.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await t.json("GET", q, as(mod));
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i: { id: string }) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    const pending = await t.json(
      "GET",
      `/v1/invitations?organizationId=${org.id}&status=pending`,
      as(org.admin),
    );
    expect(pending.body.items).toHaveLength(4);
    const revoked = await t.json(
      "GET",
      `/v1/invitations?organizationId=${org.id}&status=revoked`,
      as(org.admin),
    );
    expect(revoked.body.items.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    const refused = await t.json("GET", `/v1/invitations?organizationId=${org.id}`, as(member));
    expect(refused.status).toBe(403);
    const badCursor = await t.json(
      "GET",
      `/v1/invitations?organizationId=${org.id}&cursor=zzz`,
      as(org.admin),
    );
    expect(badCursor.status).toBe(400);
  });

  it("R-A1 R-I10 each change is audited and emits an outbox event in the same transaction", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    await t.json("POST", `/v1/invitations/${inv.invitationId}/resend`, as(org.admin));
    await t.json("POST", `/v1/invitations/${inv.invitationId}/revoke`, as(org.admin));
    const audits =
      await t.sql`select action, actor_id from audit_events where target_id = ${inv.invitationId} order by id`;
    expect(audits.map((a) => a.action)).toEqual([
      "invitation.created",
      "invitation.resent",
      "invitation.revoked",
    ]);
    expect(audits.every((a) => a.actor_id === org.admin)).toBe(true);
    const events = await t.json("GET", `/v1/invitations/${inv.invitationId}/events`, as(org.admin));
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual([
      "invitation.created",
      "invitation.resent",
      "invitation.revoked",
    ]);
    const first = events.body.items[0].payload;
    expect(first.recipients).toEqual({ email: inv.email });
    expect(first.links.accept).toContain(`invitation=${inv.invitationId}`);
    const invitee = await t.json("GET", `/v1/invitations/${inv.invitationId}/events`, as(inv.invitee));
    expect(invitee.status).toBe(403);
  });
  it("R-I4 the expiry sweep marks due invitations once and ends their pending cooperations", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const coop = await t.json("POST", "/v1/invitations", {
      ...as(owner.admin),
      body: {
        type: "cooperation",
        organizationId: owner.id,
        partner: { organizationId: partner.id },
        shares: [],
      },
    });
    const member = await inviteMember(t, { organizationId: owner.id, inviter: owner.admin, role: "member" });
    const ids = [coop.body.invitation.id, member.invitationId];
    await t.sql`update invitations set expires_at = now() - interval '1 minute' where id in ${t.sql(ids)}`;
    const resend = await t.json("POST", `/v1/invitations/${member.invitationId}/resend`, as(owner.admin));
    expect([resend.status, resend.body.code]).toEqual([410, "invitation-expired"]);
    expect(await expireDue(t.deps, owner.id)).toBe(1);
    expect(await expireDue(t.deps, owner.id)).toBe(0);
    const rows = await t.sql`select status from invitations where id in ${t.sql(ids)}`;
    expect(rows.map((r) => r.status)).toEqual(["expired", "expired"]);
    const [c] = await t.sql`select state from cooperations where id = ${coop.body.invitation.cooperationId}`;
    expect(c!.state).toBe("ended");
    const expired =
      await t.sql`select aggregate_id from outbox where topic = 'invitation.expired' and aggregate_id in ${t.sql(ids)}`;
    expect(expired).toHaveLength(2);
    const audits =
      await t.sql`select 1 from audit_events where action = 'invitation.expired' and target_id in ${t.sql(ids)}`;
    expect(audits).toHaveLength(2);
  });

  it("R-I1 platform invitations are listed for platform staff only", async () => {
    const staff = userId("support");
    await bootstrapSysadmins(t.deps, [staff]);
    const created = await t.json("POST", "/v1/invitations", {
      ...as(staff),
      body: { type: "platform", email: "listed@example.test" },
    });
    const list = await t.json("GET", "/v1/invitations?status=pending&limit=500", as(staff));
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(created.body.invitation.id);
    expect(list.body.items.every((i: { type: string }) => i.type === "platform")).toBe(true);
    const org = await createOrg(t);
    expect((await t.json("GET", "/v1/invitations", as(org.admin))).status).toBe(403);
  });

  it("R-I5 accepting by id is only for cooperation invitations addressed to an organization", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    const res = await t.json("POST", `/v1/invitations/${inv.invitationId}/accept`, as(inv.invitee));
    expect([res.status, res.body.code]).toEqual([403, "token-required"]);
    expect((await t.sql`select status from invitations where id = ${inv.invitationId}`)[0]!.status).toBe(
      "pending",
    );
  });
});
