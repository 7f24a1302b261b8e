import { can } from "../../engine/authorize.js";
import { engineObjectOrNull } from "../../engine/ids.js";
import { runChange, type UnitOfWork } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Conflict, Forbidden, Gone } from "../../kernel/errors.js";
import { PLATFORM_OBJECT } from "../../kernel/tuples.js";
import { endPendingCooperation as endPending } from "../cooperations/index.js";
import { emitEvent } from "./events.js";
import {
  dueForExpiry,
  findById,
  type InvitationRow,
  type InvitationStatus,
  loadInvitation,
  transition,
} from "./repo.js";

/** Shared pieces of the invitation lifecycle (R-I4): status at read time, expiry, authority, views. */

/** A pending invitation past its expiry reads as expired, whether or not the row was marked yet. */
export function statusAt(inv: InvitationRow, now: Date): InvitationStatus {
  return inv.status === "pending" && inv.expires_at.getTime() <= now.getTime() ? "expired" : inv.status;
}

export function toView(inv: InvitationRow, now: Date) {
  return {
    id: inv.id,
    type: inv.type,
    status: statusAt(inv, now),
    email: inv.email,
    organizationId: inv.organization_id,
    organizationName: inv.sender_organization_name ?? inv.organization_name ?? null,
    partnerOrganizationId: inv.partner_organization_id,
    role: inv.role,
    cooperationId: inv.cooperation_id,
    inviterId: inv.inviter_id,
    expiresAt: inv.expires_at.toISOString(),
    acceptedBy: inv.accepted_by,
    acceptedAt: inv.accepted_at ? inv.accepted_at.toISOString() : null,
    createdAt: inv.created_at.toISOString(),
    updatedAt: inv.updated_at.toISOString(),
  };
}
export type InvitationView = ReturnType<typeof toView>;

/** The error for an invitation that can no longer be acted on. */
export function stateError(status: InvitationStatus) {
  switch (status) {
    case "expired":
      return Gone("invitation-expired", "the invitation has expired");
    case "revoked":
      return Gone("invitation-revoked", "the invitation was revoked");
    case "declined":
      return Conflict("invitation-declined", "the invitation was declined");
    case "accepted":
      return Conflict("invitation-already-accepted", "the invitation was already accepted");
    default:
      return Conflict("invitation-not-pending", "the invitation is not pending");
  }
}

/**
 * Refuse unless pending. A pending invitation found past its expiry is marked
 * expired first (its own committed change, so the `expired` event is emitted
 * once) and then refused with 410.
 */
export async function requirePending(deps: Deps, ctx: ActorContext, inv: InvitationRow): Promise<void> {
  const status = statusAt(inv, deps.now());
  if (status === "pending") return;
  if (inv.status === "pending") await expireInvitation(deps, ctx, inv.id);
  throw stateError(status);
}

/** pending → expired with a guarded update; a no-op when someone else got there first. */
export async function expireInvitation(deps: Deps, ctx: ActorContext, id: string): Promise<boolean> {
  return runChange(deps, ctx, async (uow) => {
    const now = deps.now();
    if (!(await transition(uow.tx, id, "expired", now))) return false;
    const inv = (await findById(uow.tx, id))!;
    await endPendingCooperation(uow, inv.cooperation_id, now);
    await emitEvent(uow, deps.config, inv, "expired", now);
    auditInvitation(uow, inv, "invitation.expired", { status: "pending" }, { status: "expired" });
    return true;
  });
}

/** Mark every pending invitation past its expiry (optionally of one organization) as expired. */
export async function expireDue(deps: Deps, organizationId?: string, limit = 100): Promise<number> {
  const ctx = { actorId: "system", actorEmail: null, requestId: "invitation-expiry" };
  let n = 0;
  for (const id of await dueForExpiry(deps.sql, deps.now(), limit, organizationId)) {
    if (await expireInvitation(deps, ctx, id)) n++;
  }
  return n;
}

/**
 * A cooperation invitation that will never be accepted (revoked, declined,
 * expired) ends its pending cooperation, so the pair is free again (R-C1) and
 * its share tuples go: the cooperation module's own verb.
 */
export async function endPendingCooperation(
  uow: UnitOfWork,
  cooperationId: string | null,
  now: Date,
): Promise<void> {
  if (cooperationId) await endPending(uow, cooperationId, now);
}

export function auditInvitation(
  uow: UnitOfWork,
  inv: InvitationRow,
  action: string,
  before: unknown,
  after: unknown,
  moreOrgs: (string | null | undefined)[] = [],
): void {
  const orgs = [inv.organization_id, inv.partner_organization_id, ...moreOrgs].filter(
    (o): o is string => !!o,
  );
  uow.audit({
    action,
    target: { type: "invitation", id: inv.id },
    organizationIds: [...new Set(orgs)],
    before,
    after,
  });
}

/** Sender side (R-I1): the same authority that may create this invitation, checked through the model. */
export async function isSender(deps: Deps, actorId: string, inv: InvitationRow): Promise<boolean> {
  switch (inv.type) {
    case "platform":
      return can(deps, actorId, "can_send_platform_invitation", PLATFORM_OBJECT);
    case "organization": {
      const org = engineObjectOrNull("organization", inv.organization_id);
      const [invite, assign] = await Promise.all([
        can(deps, actorId, "can_invite_member", org),
        can(deps, actorId, `can_assign_${inv.role}`, org),
      ]);
      return invite && assign;
    }
    case "cooperation":
      return can(
        deps,
        actorId,
        "can_manage_cooperations",
        engineObjectOrNull("organization", inv.organization_id),
      );
  }
}

/** The addressee: the invited email, or an admin of the addressed partner organization. */
export async function isAddressee(deps: Deps, ctx: ActorContext, inv: InvitationRow): Promise<boolean> {
  if (inv.email) return ctx.actorEmail === inv.email;
  return can(
    deps,
    ctx.actorId,
    "can_manage_cooperations",
    engineObjectOrNull("organization", inv.partner_organization_id),
  );
}

export async function loadForSender(deps: Deps, ctx: ActorContext, id: string): Promise<InvitationRow> {
  const inv = await loadInvitation(deps.sql, id);
  if (!(await isSender(deps, ctx.actorId, inv)))
    throw Forbidden("forbidden", "only the sender side may act on this invitation");
  return inv;
}
