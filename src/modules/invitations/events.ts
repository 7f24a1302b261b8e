import { randomUUID } from "node:crypto";
import type { Config } from "../../config.js";
import type { Sql } from "../../db/pool.js";
import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import { adminEmails, type InvitationRow, insertOutbox, outboxOf } from "./repo.js";

/**
 * Notification events (R-I10), written to the `outbox` table in the same
 * transaction as the change that causes them; the delivery worker (worker.ts)
 * sends them to WEBHOOK_URL, and GET /v1/invitations/{id}/events shows them.
 *
 * Decision: the outbox never holds a raw token. Tokens are stored only as
 * hashes (R-I3), and the outbox is durable storage too, so the accept link in
 * an event carries the invitation id, not the token: the caller that created
 * or resent the invitation receives the token in the HTTP response and is the
 * one that hands it to the invitee (or appends it to the link).
 */
export type InvitationEvent = "created" | "resent" | "accepted" | "declined" | "revoked" | "expired";

export function acceptLink(config: Config, invitationId: string): string {
  const u = new URL(config.INVITATION_ACCEPT_URL);
  u.searchParams.set("invitation", invitationId);
  return u.toString();
}

export async function emitEvent(
  uow: UnitOfWork,
  config: Config,
  inv: InvitationRow,
  event: InvitationEvent,
  now: Date,
  extra: Record<string, unknown> = {},
): Promise<void> {
  // Addressed to an organization id: the partner organization's admins are the recipients.
  const recipients = inv.email
    ? { email: inv.email }
    : {
        organizationId: inv.partner_organization_id,
        emails: await adminEmails(uow.tx, inv.partner_organization_id!),
      };
  const eventId = randomUUID();
  const payload = {
    eventId,
    type: `invitation.${event}`,
    occurredAt: now.toISOString(),
    invitation: {
      id: inv.id,
      type: inv.type,
      organizationId: inv.organization_id,
      organizationName: inv.sender_organization_name ?? inv.organization_name,
      role: inv.role,
      inviterId: inv.inviter_id,
      cooperationId: inv.cooperation_id,
      expiresAt: inv.expires_at.toISOString(),
    },
    recipients,
    links: { accept: acceptLink(config, inv.id) },
    ...extra,
  };
  await insertOutbox(uow.tx, { eventId, topic: payload.type, aggregateId: inv.id, payload });
}

export interface EventView {
  id: string;
  type: string;
  createdAt: string;
  deliveredAt: string | null;
  attempts: number;
  payload: unknown;
}

export async function listEvents(sql: Sql, invitationId: string): Promise<EventView[]> {
  const rows = await outboxOf(sql, invitationId);
  return rows.map((r) => ({
    id: r.event_id,
    type: r.topic,
    createdAt: (r.created_at as Date).toISOString(),
    deliveredAt: r.delivered_at ? (r.delivered_at as Date).toISOString() : null,
    attempts: r.attempts,
    payload: r.payload,
  }));
}
