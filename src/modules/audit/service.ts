import { requirePermission } from "../../domain/authorize.js";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { decodeCursor, encodeCursor, isCursorBigint } from "../organizations/cursor.js";
import { orgObject, requireOrganization } from "../organizations/service.js";
import { listAuditEvents } from "./repo.js";

/** GET /v1/organizations/{orgId}/audit-events (can_view_audit_log), newest first (R-A2). */
export async function auditEvents(
  deps: Deps,
  ctx: ActorContext,
  orgId: string,
  page: { limit: number; cursor?: string },
) {
  const before = decodeCursor("a", page.cursor, { test: isCursorBigint });
  await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_view_audit_log", orgObject(orgId));
  const rows = await listAuditEvents(
    deps.sql,
    orgId,
    page.limit + 1,
    before === null ? null : BigInt(before),
  );
  const items = rows.slice(0, page.limit).map((r) => ({ ...r, at: r.at.toISOString() }));
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last ? encodeCursor("a", last.id) : null };
}
