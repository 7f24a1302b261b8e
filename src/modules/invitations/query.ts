import { can } from "../../domain/authorize.js";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { Forbidden, InvalidInput } from "../../domain/errors.js";
import { PLATFORM_OBJECT } from "../../domain/tuples.js";
import { engineObject } from "../../engine/ids.js";
import { isCursorId, isCursorTimestamp } from "../organizations/cursor.js";
import { toView } from "./lifecycle.js";
import { type InvitationStatus, type InvitationType, listInvitations } from "./repo.js";

/**
 * Sender-side listing. With organizationId: organization invitations for
 * holders of can_invite_member, cooperation invitations for holders of
 * can_manage_cooperations. Without: platform invitations, for platform staff.
 */
export async function listForSender(
  deps: Deps,
  ctx: ActorContext,
  q: { organizationId?: string; status?: InvitationStatus; limit: number; cursor?: string },
) {
  const types: InvitationType[] = [];
  if (q.organizationId) {
    const org = engineObject("organization", q.organizationId);
    const [invite, coop] = await Promise.all([
      can(deps, ctx.actorId, "can_invite_member", org),
      can(deps, ctx.actorId, "can_manage_cooperations", org),
    ]);
    if (invite) types.push("organization");
    if (coop) types.push("cooperation");
  } else if (await can(deps, ctx.actorId, "can_send_platform_invitation", PLATFORM_OBJECT)) {
    types.push("platform");
  }
  if (types.length === 0) throw Forbidden("forbidden", "only the sender side lists invitations");
  const now = deps.now();
  const rows = await listInvitations(deps.sql, {
    organizationId: q.organizationId ?? null,
    types,
    status: q.status,
    now,
    limit: q.limit,
    after: q.cursor ? decodeCursor(q.cursor) : undefined,
  });
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => toView(r, now)),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
  };
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (isCursorTimestamp(createdAt) && isCursorId(id)) return { createdAt, id };
  } catch {}
  throw InvalidInput("invalid-cursor", "the cursor is not one this API returned");
}
