import { requirePermission } from "../../engine/authorize.js";
import { engineObject } from "../../engine/ids.js";
import { runChange } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Forbidden, InvalidInput, NotFound } from "../../kernel/errors.js";
import { newId } from "../../kernel/ids.js";
import { PLATFORM_OBJECT } from "../../kernel/tuples.js";
import { createPendingCooperation } from "../cooperations/index.js";
import { ensureUser } from "../users/index.js";
import { emitEvent, listEvents } from "./events.js";
import {
  auditInvitation,
  endPendingCooperation,
  expireDue,
  isAddressee,
  isSender,
  loadForSender,
  requirePending,
  stateError,
  toView,
} from "./lifecycle.js";
import {
  findById,
  insertInvitation,
  loadInvitation,
  organizationName,
  ownedResources,
  rotateToken,
  transition,
} from "./repo.js";
import type { CreateInvitationInput } from "./schemas.js";
import { generateToken } from "./tokens.js";

const DAY_MS = 86_400_000;

/** R-I1: who may send which invitation, checked through the model before anything is written. */
async function checkCreate(deps: Deps, ctx: ActorContext, input: CreateInvitationInput): Promise<void> {
  if (input.type === "platform") {
    await requirePermission(deps, ctx.actorId, "can_send_platform_invitation", PLATFORM_OBJECT);
    return;
  }
  const org = engineObject("organization", input.organizationId);
  if (input.type === "organization") {
    await requirePermission(deps, ctx.actorId, "can_invite_member", org);
    // A moderator may invite only roles it may assign (R-O5).
    await requirePermission(deps, ctx.actorId, `can_assign_${input.role}`, org, "role-not-assignable");
    return;
  }
  await requirePermission(deps, ctx.actorId, "can_manage_cooperations", org);
  if ("organizationId" in input.partner) {
    if (input.partner.organizationId === input.organizationId)
      throw InvalidInput("cooperation-with-itself", "an organization cannot cooperate with itself");
    if (!(await organizationName(deps.sql, input.partner.organizationId)))
      throw NotFound("organization-not-found", `no organization ${input.partner.organizationId}`);
  }
  const keys = input.shares.map((s) => `${s.resource.type}:${s.resource.id}`);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw InvalidInput("duplicate-share", `${dup} appears more than once (R-C4)`);
  const owned = await ownedResources(
    deps.sql,
    input.organizationId,
    input.shares.map((s) => s.resource),
  );
  const foreign = keys.find((k) => !owned.has(k));
  if (foreign) throw Forbidden("resource-not-owned", `${foreign} is not owned by the organization (R-C3)`);
  if (input.expiresAt && new Date(input.expiresAt).getTime() <= deps.now().getTime())
    throw InvalidInput("invalid-expiry", "the cooperation's expiresAt must be in the future");
}

export async function createInvitation(deps: Deps, ctx: ActorContext, input: CreateInvitationInput) {
  await checkCreate(deps, ctx, input);
  // Expired-but-unmarked cooperation invitations still hold their pending cooperation: free them first.
  if (input.type === "cooperation") await expireDue(deps, input.organizationId);
  const now = deps.now();
  const days = input.expiresInDays ?? deps.config.INVITATION_TTL_DAYS;
  const { token, hash } = generateToken();
  const id = newId("inv");
  const inv = await runChange(deps, ctx, async (uow) => {
    await ensureUser(uow.tx, ctx.actorId, ctx.actorEmail);
    let cooperationId: string | null = null;
    let partnerOrganizationId: string | null = null;
    let email: string | null = input.type === "cooperation" ? null : input.email;
    if (input.type === "cooperation") {
      if ("organizationId" in input.partner) partnerOrganizationId = input.partner.organizationId;
      else email = input.partner.email;
      const coop = await createPendingCooperation(uow, {
        ownerOrganizationId: input.organizationId,
        partnerOrganizationId,
        expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
        shares: input.shares,
      });
      cooperationId = coop.id;
    }
    await insertInvitation(uow.tx, {
      id,
      type: input.type,
      email,
      organization_id: input.type === "platform" ? null : input.organizationId,
      partner_organization_id: partnerOrganizationId,
      role: input.type === "organization" ? input.role : null,
      organization_name: input.type === "platform" ? (input.organizationName ?? null) : null,
      cooperation_id: cooperationId,
      inviter_id: ctx.actorId,
      expires_at: new Date(now.getTime() + days * DAY_MS),
      token_hash: hash,
    });
    const row = (await findById(uow.tx, id))!;
    await emitEvent(uow, deps.config, row, "created", now);
    auditInvitation(uow, row, "invitation.created", null, { ...toView(row, now), status: "pending" });
    return row;
  });
  return { invitation: toView(inv, now), token };
}

/** R-I4: a new token (the old one stops working) and a new lifetime. */
export async function resendInvitation(deps: Deps, ctx: ActorContext, id: string, expiresInDays?: number) {
  const inv = await loadForSender(deps, ctx, id);
  await requirePending(deps, ctx, inv);
  const now = deps.now();
  const days = expiresInDays ?? deps.config.INVITATION_TTL_DAYS;
  const { token, hash } = generateToken();
  const row = await runChange(deps, ctx, async (uow) => {
    const expiresAt = new Date(now.getTime() + days * DAY_MS);
    if (!(await rotateToken(uow.tx, id, hash, expiresAt, now))) {
      throw stateError((await findById(uow.tx, id))!.status);
    }
    const after = (await findById(uow.tx, id))!;
    await emitEvent(uow, deps.config, after, "resent", now);
    auditInvitation(uow, after, "invitation.resent", { expiresAt: inv.expires_at }, { expiresAt });
    return after;
  });
  return { invitation: toView(row, now), token };
}

export async function revokeInvitation(deps: Deps, ctx: ActorContext, id: string) {
  const inv = await loadForSender(deps, ctx, id);
  if (inv.status === "revoked") return { invitation: toView(inv, deps.now()) };
  await requirePending(deps, ctx, inv);
  return closeInvitation(deps, ctx, id, "revoked");
}

/** pending → revoked | declined; repeating the same close answers the same result. */
export async function closeInvitation(deps: Deps, ctx: ActorContext, id: string, to: "revoked" | "declined") {
  const now = deps.now();
  const row = await runChange(deps, ctx, async (uow) => {
    if (!(await transition(uow.tx, id, to, now))) {
      const current = (await findById(uow.tx, id))!;
      if (current.status === to) return current;
      throw stateError(current.status === "pending" ? "expired" : current.status);
    }
    const after = (await findById(uow.tx, id))!;
    await endPendingCooperation(uow, after.cooperation_id, now);
    await emitEvent(uow, deps.config, after, to, now);
    auditInvitation(uow, after, `invitation.${to}`, { status: "pending" }, { status: to });
    return after;
  });
  return { invitation: toView(row, now) };
}

export async function getInvitation(deps: Deps, ctx: ActorContext, id: string) {
  const inv = await loadInvitation(deps.sql, id);
  if (!(await isAddressee(deps, ctx, inv)) && !(await isSender(deps, ctx.actorId, inv)))
    throw Forbidden("forbidden", "only the sender side or the addressee may read this invitation");
  return { invitation: toView(inv, deps.now()) };
}

export async function invitationEvents(deps: Deps, ctx: ActorContext, id: string) {
  await loadForSender(deps, ctx, id);
  return { items: await listEvents(deps.sql, id) };
}
