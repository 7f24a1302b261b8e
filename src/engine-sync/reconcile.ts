import type { JobLevel, OrgRole, ResourceType, StaffRole } from "../engine/permissions.js";
import type { Deps } from "../kernel/deps.js";
import {
  type CooperationState,
  cooperationTuples,
  type Delta,
  diffTuples,
  grantTuples,
  membershipTuples,
  parkTuples,
  portfolioTuples,
  shareTuples,
  staffTuples,
  type Tuple,
  tupleKey,
} from "../kernel/tuples.js";
import { writeEngine } from "./revision.js";
import { ENGINE_SYNC_LOCK } from "./sync-lock.js";

/** Every tuple the database implies (the same mappers as the changes use). */
export async function desiredTuples(deps: Deps): Promise<Tuple[]> {
  const { sql } = deps;
  const out: Tuple[] = [];
  for (const r of await sql`select user_id, role from platform_staff`) {
    out.push(...staffTuples({ userId: r.user_id, role: r.role as StaffRole }));
  }
  for (const r of await sql`select user_id, organization_id, role from memberships`) {
    out.push(
      ...membershipTuples({ userId: r.user_id, organizationId: r.organization_id, role: r.role as OrgRole }),
    );
  }
  for (const r of await sql`select id, organization_id from portfolios`) {
    out.push(...portfolioTuples({ id: r.id, organizationId: r.organization_id }));
  }
  for (const r of await sql`select id, organization_id, portfolio_id from parks`) {
    out.push(...parkTuples({ id: r.id, organizationId: r.organization_id, portfolioId: r.portfolio_id }));
  }
  for (const r of await sql`select id, owner_organization_id, partner_organization_id, state, expires_at from cooperations where state <> 'ended'`) {
    out.push(
      ...cooperationTuples({
        id: r.id,
        ownerOrganizationId: r.owner_organization_id,
        partnerOrganizationId: r.partner_organization_id,
        state: r.state as CooperationState,
        expiresAt: r.expires_at,
      }),
    );
  }
  for (const r of await sql`select s.cooperation_id, s.resource_type, s.resource_id, s.level from shares s
      join cooperations c on c.id = s.cooperation_id where c.state <> 'ended'`) {
    out.push(
      ...shareTuples({
        cooperationId: r.cooperation_id,
        resourceType: r.resource_type as ResourceType,
        resourceId: r.resource_id,
        level: r.level as JobLevel,
      }),
    );
  }
  for (const r of await sql`select resource_type, resource_id, user_id, level, cooperation_id from grants`) {
    out.push(
      ...grantTuples({
        resourceType: r.resource_type as ResourceType,
        resourceId: r.resource_id,
        userId: r.user_id,
        level: r.level as JobLevel,
        cooperationId: r.cooperation_id,
      }),
    );
  }
  return out;
}

export interface ReconcileReport {
  desired: number;
  actual: number;
  missing: Tuple[];
  extra: Tuple[];
  repaired: boolean;
}

/**
 * Compare what the database implies with the engine's tuples and, with
 * repair, make the engine agree (R-G3). Safe to run at any time: writes ignore
 * duplicates and deletes ignore missing tuples.
 */
export async function reconcile(deps: Deps, opts: { repair: boolean }): Promise<ReconcileReport> {
  // First a pass without the lock: in the common case there is no drift and no
  // change has to wait. Only when it sees drift (which may be a change in
  // flight) does it look again under the lock, and repair from that view.
  const quick = await reconcileLocked(deps, { repair: false });
  if (quick.missing.length === 0 && quick.extra.length === 0) return quick;
  // Exclusive against changes between their engine write and their commit
  // (ENGINE_SYNC_LOCK): without it a reconcile could undo an in-flight change's
  // tuples (or restore revoked ones) just before it commits. Reads go through
  // the locking transaction, so a single-connection pool (PGlite) works too.
  return (await deps.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ENGINE_SYNC_LOCK}::bigint)`;
    return reconcileLocked({ ...deps, sql: tx as unknown as Deps["sql"] }, opts);
  })) as ReconcileReport;
}

async function reconcileLocked(deps: Deps, opts: { repair: boolean }): Promise<ReconcileReport> {
  const desired = await desiredTuples(deps);
  const actual: Tuple[] = [];
  for await (const t of deps.engine.readAll()) actual.push(t);
  const delta: Delta = diffTuples(actual, desired);
  const report: ReconcileReport = {
    desired: desired.length,
    actual: actual.length,
    missing: delta.writes,
    extra: delta.deletes,
    repaired: false,
  };
  if (opts.repair && (delta.writes.length || delta.deletes.length)) {
    await writeEngine(deps, deps.sql, delta);
    report.repaired = true;
  }
  return report;
}

export function describeDrift(r: ReconcileReport): string[] {
  return [...r.missing.map((t) => `missing ${tupleKey(t)}`), ...r.extra.map((t) => `extra   ${tupleKey(t)}`)];
}
