import { expect } from "vitest";
import type { TestContext } from "./app.js";
import { emailOf, userId } from "./factories.js";

/**
 * Invitation factories through the HTTP API (SPEC §6), for any test that needs
 * people or partners to join the way production does.
 */

export interface Invited {
  invitationId: string;
  token: string;
  email: string;
  /** A fresh user id whose verified email is `email` (use it to accept). */
  invitee: string;
}

/** An organization invitation sent by `inviter` (an admin or moderator of `organizationId`). */
export async function inviteMember(
  t: TestContext,
  o: { organizationId: string; inviter: string; role: string; invitee?: string; email?: string },
): Promise<Invited> {
  const invitee = o.invitee ?? userId(o.role);
  const email = o.email ?? emailOf(invitee);
  const res = await t.json("POST", "/v1/invitations", {
    actor: o.inviter,
    email: emailOf(o.inviter),
    body: { type: "organization", organizationId: o.organizationId, email, role: o.role },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { invitationId: res.body.invitation.id, token: res.body.token, email, invitee };
}

/** Accept with a token as `actor` (whose verified email defaults to emailOf(actor)). */
export async function acceptInvitation(
  t: TestContext,
  o: { token: string; actor: string; email?: string; organizationName?: string; portfolioName?: string },
): Promise<{ organizationId: string; cooperationId?: string; invitation: { id: string; status: string } }> {
  const res = await t.json("POST", "/v1/invitations/accept", {
    actor: o.actor,
    email: o.email ?? emailOf(o.actor),
    body: { token: o.token, organizationName: o.organizationName, portfolioName: o.portfolioName },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export interface ShareSpec {
  resource: { type: "park" | "portfolio"; id: string };
  level: "operator" | "technical_manager" | "asset_manager" | "viewer";
}

/**
 * An active cooperation from `ownerOrg` to `partner` with `shares`: a
 * cooperation invitation addressed to the partner organization's id, accepted
 * without a token by the partner's admin.
 */
export async function shareWithPartner(
  t: TestContext,
  ownerOrg: { id: string; admin: string },
  partner: { id: string; admin: string },
  shares: ShareSpec[],
  opts: { expiresAt?: string } = {},
): Promise<{ cooperationId: string; invitationId: string }> {
  const created = await t.json("POST", "/v1/invitations", {
    actor: ownerOrg.admin,
    email: emailOf(ownerOrg.admin),
    body: {
      type: "cooperation",
      organizationId: ownerOrg.id,
      partner: { organizationId: partner.id },
      shares,
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const invitationId = created.body.invitation.id as string;
  const accepted = await t.json("POST", `/v1/invitations/${invitationId}/accept`, {
    actor: partner.admin,
    email: emailOf(partner.admin),
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
  return { cooperationId: accepted.body.cooperationId, invitationId };
}
