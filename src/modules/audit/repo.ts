import type { Sql } from "../../db/pool.js";

export interface AuditEventRow {
  id: string;
  at: Date;
  actorId: string | null;
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
  requestId: string | null;
}

/**
 * Events readable by an organization (R-A2): its id is in organization_ids,
 * so cooperation events reach both sides. Newest first by id (the insertion
 * order), strictly before the cursor's id.
 */
export async function listAuditEvents(
  sql: Sql,
  orgId: string,
  limit: number,
  beforeId: bigint | null,
): Promise<AuditEventRow[]> {
  const rows = await sql`select id, at, actor_id, action, target_type, target_id, before, after, request_id
    from audit_events
    where organization_ids @> array[${orgId}]::text[] ${beforeId === null ? sql`` : sql`and id < ${beforeId.toString()}::bigint`}
    order by id desc limit ${limit}`;
  return rows.map((r) => ({
    id: String(r.id),
    at: r.at,
    actorId: r.actor_id,
    action: r.action,
    target: { type: r.target_type, id: r.target_id },
    before: r.before,
    after: r.after,
    requestId: r.request_id,
  }));
}
