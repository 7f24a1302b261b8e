import { can } from "../../engine/authorize.js";
import { engineObject } from "../../engine/ids.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Forbidden } from "../../kernel/errors.js";
import { isCursorId, isCursorTimestamp, type KeysetList, keysetPage } from "../../kernel/paging.js";
import { PLATFORM_OBJECT } from "../../kernel/tuples.js";
import { toView } from "./lifecycle.js";
import { type InvitationStatus, type InvitationType, listInvitations } from "./repo.js";

const INVITATIONS: KeysetList<{ cursor_at: string; id: string }> = {
  kind: "invitations",
  parts: [isCursorTimestamp, isCursorId],
  keyOf: (r) => [r.cursor_at, r.id],
};

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
  const { rows, nextCursor } = await keysetPage(INVITATIONS, q, (limit, key) => {
    const after = key ? { createdAt: key[0]!, id: key[1]! } : undefined;
    const organizationId = q.organizationId ?? null;
    return listInvitations(deps.sql, { organizationId, types, status: q.status, now, limit, after });
  });
  return { items: rows.map((r) => toView(r, now)), nextCursor };
}
