import { requirePermission } from "../../engine/authorize.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { isCursorBigint, type KeysetList, keysetPage } from "../../kernel/paging.js";
import { orgObject, requireOrganization } from "../organizations/index.js";
import { listAuditEvents } from "./repo.js";

const AUDIT_EVENTS: KeysetList<{ id: string }> = {
  kind: "audit-events",
  parts: [isCursorBigint],
  keyOf: (r) => [r.id],
};

/** GET /v1/organizations/{orgId}/audit-events (can_view_audit_log), newest first (R-A2). */
export async function auditEvents(
  deps: Deps,
  ctx: ActorContext,
  orgId: string,
  page: { limit: number; cursor?: string },
) {
  await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_view_audit_log", orgObject(orgId));
  const { rows, nextCursor } = await keysetPage(AUDIT_EVENTS, page, (n, key) =>
    listAuditEvents(deps.sql, orgId, n, key ? BigInt(key[0]!) : null),
  );
  return { items: rows.map((r) => ({ ...r, at: r.at.toISOString() })), nextCursor };
}
