import { requirePermission } from "../../engine/authorize.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { decodeCursor, encodeCursor, fetchPage, isCursorBigint } from "../../kernel/paging.js";
import { orgObject, requireOrganization } from "../organizations/index.js";
import { listAuditEvents } from "./repo.js";

/** GET /v1/organizations/{orgId}/audit-events (can_view_audit_log), newest first (R-A2). */
export async function auditEvents(
  deps: Deps,
  ctx: ActorContext,
  orgId: string,
  page: { limit: number; cursor?: string },
) {
  const before = decodeCursor("audit-events", page.cursor, [isCursorBigint])?.[0];
  await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_view_audit_log", orgObject(orgId));
  const { rows, nextCursor } = await fetchPage(
    page.limit,
    (n) => listAuditEvents(deps.sql, orgId, n, before === undefined ? null : BigInt(before)),
    (last) => encodeCursor("audit-events", [last.id]),
  );
  return { items: rows.map((r) => ({ ...r, at: r.at.toISOString() })), nextCursor };
}
