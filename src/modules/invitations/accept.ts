import { can } from "../../engine/authorize.js";
import { engineObject, engineObjectOrNull } from "../../engine/ids.js";
import type { OrgRole } from "../../engine/permissions.js";
import { runChange } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Forbidden, InvalidInput, NotFound } from "../../kernel/errors.js";
import { activateCooperation } from "../cooperations/index.js";
import { addMember, createOrganization } from "../organizations/index.js";
import { emitEvent } from "./events.js";
import { auditInvitation, requirePending, stateError, statusAt, toView } from "./lifecycle.js";
import {
  findById,
  findByTokenHash,
  type InvitationRow,
  loadInvitation,
  organizationOf,
  storeResult,
  transition,
} from "./repo.js";
import { closeInvitation } from "./service.js";
import { hashToken, looksLikeToken } from "./tokens.js";

const DEFAULT_PORTFOLIO = "Main portfolio";

interface AcceptInput {
  organizationName?: string;
  portfolioName?: string;
}
type AcceptResult = { organizationId: string; cooperationId?: string };

export async function loadByToken(deps: Deps, token: string): Promise<InvitationRow> {
  const inv = looksLikeToken(token) ? await findByTokenHash(deps.sql, hashToken(token)) : undefined;
  if (!inv) throw NotFound("invitation-not-found", "no invitation has this token");
  return inv;
}

/** R-I5: the verified email must match (case-insensitively; both sides are lower-cased). */
function requireEmailMatch(ctx: ActorContext, inv: InvitationRow): void {
  if (inv.email && ctx.actorEmail !== inv.email)
    throw Forbidden("email-mismatch", "the actor's verified email (X-Actor-Email) is not the invited one");
}

function answer(inv: InvitationRow, now: Date) {
  return { invitation: toView(inv, now), ...(inv.result as AcceptResult) };
}

/** A repeat by the actor who accepted answers the stored result (R-I9). */
function repeated(ctx: ActorContext, inv: InvitationRow): boolean {
  return inv.status === "accepted" && inv.accepted_by === ctx.actorId && inv.result !== null;
}

export async function acceptByToken(deps: Deps, ctx: ActorContext, token: string, input: AcceptInput) {
  const inv = await loadByToken(deps, token);
  requireEmailMatch(ctx, inv);
  if (repeated(ctx, inv)) return answer(inv, deps.now());
  await requirePending(deps, ctx, inv);
  return accept(deps, ctx, inv, input);
}

/** A cooperation invitation addressed to an organization id: any admin of it accepts without a token (R-I5). */
export async function acceptById(deps: Deps, ctx: ActorContext, id: string) {
  const inv = await loadInvitation(deps.sql, id);
  if (inv.type !== "cooperation" || inv.email || !inv.partner_organization_id)
    throw Forbidden(
      "token-required",
      "only cooperation invitations addressed to an organization accept by id",
    );
  if (
    !(await can(
      deps,
      ctx.actorId,
      "can_manage_cooperations",
      engineObjectOrNull("organization", inv.partner_organization_id),
    ))
  )
    throw Forbidden("partner-admin-required", "only admins of the addressed organization accept");
  if (repeated(ctx, inv)) return answer(inv, deps.now());
  await requirePending(deps, ctx, inv);
  return accept(deps, ctx, inv, {});
}

/** Work out, before the transaction, which organization a cooperation will link to, and check authority. */
async function cooperationPartner(deps: Deps, ctx: ActorContext, inv: InvitationRow) {
  const partner = inv.partner_organization_id ?? (await organizationOf(deps.sql, ctx.actorId))?.id;
  if (!partner) return null;
  if (!(await can(deps, ctx.actorId, "can_manage_cooperations", engineObject("organization", partner))))
    throw Forbidden("partner-admin-required", "only an admin of the partner organization accepts (R-I8)");
  return partner;
}

async function accept(deps: Deps, ctx: ActorContext, inv: InvitationRow, input: AcceptInput) {
  const partner = inv.type === "cooperation" ? await cooperationPartner(deps, ctx, inv) : null;
  const newOrgName = input.organizationName ?? inv.organization_name ?? undefined;
  const createsOrg = inv.type === "platform" || (inv.type === "cooperation" && !partner);
  if (createsOrg && !newOrgName)
    throw InvalidInput("organization-name-required", "organizationName is needed to create the organization");
  const now = deps.now();
  const row = await runChange(deps, ctx, async (uow) => {
    // The guarded transition first: concurrent acceptances queue on the row and
    // find it no longer pending, so exactly one does the work (R-I9).
    if (!(await transition(uow.tx, inv.id, "accepted", now, { acceptedBy: ctx.actorId }))) {
      const current = (await findById(uow.tx, inv.id))!;
      if (repeated(ctx, current)) return current;
      throw stateError(statusAt(current, now) === "pending" ? "expired" : statusAt(current, now));
    }
    let result: AcceptResult;
    if (inv.type === "organization") {
      await addMember(uow, {
        organizationId: inv.organization_id!,
        userId: ctx.actorId,
        email: ctx.actorEmail,
        role: inv.role as OrgRole,
      });
      result = { organizationId: inv.organization_id! };
    } else {
      let orgId = partner;
      if (!orgId) {
        const created = await createOrganization(uow, {
          name: newOrgName!,
          adminUserId: ctx.actorId,
          adminEmail: ctx.actorEmail,
          portfolioName:
            inv.type === "platform" ? (input.portfolioName ?? DEFAULT_PORTFOLIO) : input.portfolioName,
        });
        orgId = created.id;
      }
      result = { organizationId: orgId };
      if (inv.type === "cooperation") {
        await activateCooperation(uow, inv.cooperation_id!, orgId);
        result.cooperationId = inv.cooperation_id!;
      }
    }
    await storeResult(uow.tx, inv.id, result);
    const after = (await findById(uow.tx, inv.id))!;
    await emitEvent(uow, deps.config, after, "accepted", now, { result });
    auditInvitation(
      uow,
      after,
      "invitation.accepted",
      { status: "pending" },
      { status: "accepted", ...result },
      [result.organizationId],
    );
    return after;
  });
  return answer(row, now);
}

export async function declineByToken(deps: Deps, ctx: ActorContext, token: string) {
  const inv = await loadByToken(deps, token);
  requireEmailMatch(ctx, inv);
  if (
    !inv.email &&
    !(await can(
      deps,
      ctx.actorId,
      "can_manage_cooperations",
      engineObjectOrNull("organization", inv.partner_organization_id),
    ))
  )
    throw Forbidden("partner-admin-required", "only admins of the addressed organization decline");
  if (inv.status === "declined") return { invitation: toView(inv, deps.now()) };
  await requirePending(deps, ctx, inv);
  return closeInvitation(deps, ctx, inv.id, "declined");
}

/** What the token holder may see before accepting: never the token or other invitations. */
export async function previewByToken(deps: Deps, ctx: ActorContext, token: string) {
  const inv = await loadByToken(deps, token);
  await requirePending(deps, ctx, inv);
  return {
    type: inv.type,
    organizationName: inv.sender_organization_name ?? inv.organization_name ?? null,
    inviterId: inv.inviter_id,
    ...(inv.role ? { role: inv.role } : {}),
    expiresAt: inv.expires_at.toISOString(),
  };
}
