import type { Sql, Tx } from "../../db/pool.js";
import type { JobLevel, ResourceType } from "../../engine/permissions.js";
import { NotFound } from "../../kernel/errors.js";
import type { CooperationState, ShareRow } from "../../kernel/tuples.js";

/** SQL of the cooperation aggregate (cooperations, their shares, their delegations). */

type Db = Sql | Tx;

export interface CooperationRow {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: CooperationState;
  expiresAt: Date | null;
}

export interface DelegationRow {
  resourceType: ResourceType;
  resourceId: string;
  userId: string;
  level: JobLevel;
  cooperationId: string;
}

type Raw = Record<string, unknown>;

const COLUMNS = (db: Db) =>
  db`id, owner_organization_id, partner_organization_id, state, expires_at, created_at`;

function toRow(r: Raw): CooperationRow & { createdAt: Date } {
  return {
    id: r.id as string,
    ownerOrganizationId: r.owner_organization_id as string,
    partnerOrganizationId: (r.partner_organization_id as string | null) ?? null,
    state: r.state as CooperationState,
    expiresAt: (r.expires_at as Date | null) ?? null,
    createdAt: r.created_at as Date,
  };
}
const toShare = (r: Raw): ShareRow => ({
  cooperationId: r.cooperation_id as string,
  resourceType: r.resource_type as ResourceType,
  resourceId: r.resource_id as string,
  level: r.level as JobLevel,
});
const toDelegation = (r: Raw): DelegationRow => ({ ...toShare(r), userId: r.user_id as string });

export async function findCooperation(db: Db, id: string, lock = false) {
  const [r] =
    await db`select ${COLUMNS(db)} from cooperations where id = ${id} ${lock ? db`for update` : db``}`;
  return r ? toRow(r) : null;
}

/** The cooperation (locked with `lock`), or 404 cooperation-not-found. */
export async function loadCooperation(db: Db, id: string, lock = false) {
  const c = await findCooperation(db, id, lock);
  if (!c) throw NotFound("cooperation-not-found", `no cooperation ${id}`);
  return c;
}

/** Up to `limit` rows, newest first, after the (created_at, id) of a cursor. */
export async function listCooperations(
  db: Db,
  q: {
    organizationId: string;
    direction: "outgoing" | "incoming" | undefined;
    limit: number;
    after: { createdAt: string; id: string } | null;
  },
) {
  const side =
    q.direction === "outgoing"
      ? db`owner_organization_id = ${q.organizationId}`
      : q.direction === "incoming"
        ? db`partner_organization_id = ${q.organizationId}`
        : db`(owner_organization_id = ${q.organizationId} or partner_organization_id = ${q.organizationId})`;
  const page = q.after ? db`and (created_at, id) < (${q.after.createdAt}::timestamptz, ${q.after.id})` : db``;
  // The cursor keeps created_at at full (microsecond) precision as text.
  const rows = await db`select ${COLUMNS(db)},
      to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
    from cooperations where ${side} ${page}
    order by created_at desc, id desc limit ${q.limit}`;
  return rows.map((r) => ({ ...toRow(r), cursorAt: r.cursor_at as string }));
}

export async function insertPending(tx: Tx, c: Omit<CooperationRow, "state">): Promise<void> {
  await tx`insert into cooperations (id, owner_organization_id, partner_organization_id, state, expires_at)
    values (${c.id}, ${c.ownerOrganizationId}, ${c.partnerOrganizationId}, 'pending', ${c.expiresAt})`;
}

export async function activate(tx: Tx, id: string, partnerOrganizationId: string): Promise<void> {
  await tx`update cooperations set state = 'active', partner_organization_id = ${partnerOrganizationId},
    updated_at = now() where id = ${id} and state = 'pending'`;
}

/**
 * Guarded transition: only from one of `from`; `notExpiredAt` additionally
 * refuses a cooperation whose expiry has passed (it reads `expired`).
 */
export async function transition(
  tx: Tx,
  id: string,
  from: readonly CooperationState[],
  to: CooperationState,
  notExpiredAt?: Date,
): Promise<boolean> {
  const expiry = notExpiredAt ? tx`and (expires_at is null or expires_at > ${notExpiredAt})` : tx``;
  const ended = to === "ended" ? tx`, ended_at = now()` : tx``;
  const rows = await tx`update cooperations set state = ${to}, updated_at = now() ${ended}
    where id = ${id} and state in ${tx(from)} ${expiry} returning id`;
  return rows.length === 1;
}

export async function setExpiry(tx: Tx, id: string, expiresAt: Date | null): Promise<boolean> {
  const rows = await tx`update cooperations set expires_at = ${expiresAt}, updated_at = now()
    where id = ${id} and state <> 'ended' returning id`;
  return rows.length === 1;
}

export async function sharesOf(db: Db, cooperationIds: string[]): Promise<ShareRow[]> {
  if (cooperationIds.length === 0) return [];
  const rows = await db`select cooperation_id, resource_type, resource_id, level from shares
    where cooperation_id in ${db(cooperationIds)} order by resource_type, resource_id`;
  return rows.map(toShare);
}

export async function shareLevel(tx: Tx, s: Omit<ShareRow, "level">): Promise<JobLevel | null> {
  const [r] = await tx`select level from shares where cooperation_id = ${s.cooperationId}
    and resource_type = ${s.resourceType} and resource_id = ${s.resourceId} for update`;
  return (r?.level as JobLevel | undefined) ?? null;
}

export async function insertShare(tx: Tx, s: ShareRow): Promise<void> {
  await tx`insert into shares (cooperation_id, resource_type, resource_id, level)
    values (${s.cooperationId}, ${s.resourceType}, ${s.resourceId}, ${s.level})`;
}

export async function upsertShare(tx: Tx, s: ShareRow): Promise<void> {
  await tx`insert into shares (cooperation_id, resource_type, resource_id, level)
    values (${s.cooperationId}, ${s.resourceType}, ${s.resourceId}, ${s.level})
    on conflict (cooperation_id, resource_type, resource_id)
    do update set level = excluded.level, updated_at = now()`;
}

/** The removed share, or null when there was none. */
export async function deleteShare(tx: Tx, s: Omit<ShareRow, "level">): Promise<ShareRow | null> {
  const [r] = await tx`delete from shares where cooperation_id = ${s.cooperationId}
    and resource_type = ${s.resourceType} and resource_id = ${s.resourceId}
    returning cooperation_id, resource_type, resource_id, level`;
  return r ? toShare(r) : null;
}

export async function deleteAllShares(tx: Tx, cooperationId: string): Promise<ShareRow[]> {
  const rows = await tx`delete from shares where cooperation_id = ${cooperationId}
    returning cooperation_id, resource_type, resource_id, level`;
  return rows.map(toShare);
}

/** R-C10: every delegation of the cooperation. */
export async function deleteAllDelegations(tx: Tx, cooperationId: string): Promise<DelegationRow[]> {
  const rows = await tx`delete from grants where cooperation_id = ${cooperationId}
    returning resource_type, resource_id, user_id, level, cooperation_id`;
  return rows.map(toDelegation);
}

/** R-C9: the delegations no share of their cooperation covers (the resource itself or a park's portfolio). */
export async function deleteUncoveredDelegations(tx: Tx, cooperationId: string): Promise<DelegationRow[]> {
  const rows = await tx`delete from grants g
    where g.cooperation_id = ${cooperationId}
      and not exists (
        select 1 from shares s
        where s.cooperation_id = g.cooperation_id
          and ((s.resource_type = g.resource_type and s.resource_id = g.resource_id)
            or (g.resource_type = 'park' and s.resource_type = 'portfolio'
                and s.resource_id = (select p.portfolio_id from parks p where p.id = g.resource_id))))
    returning resource_type, resource_id, user_id, level, cooperation_id`;
  return rows.map(toDelegation);
}

/** Non-ended cooperations with a share or a delegation on the resource, in id (lock) order. */
export async function cooperationsOn(tx: Tx, type: ResourceType, id: string): Promise<string[]> {
  const rows = await tx`select distinct c.id from cooperations c
    where c.state <> 'ended' and (
      exists (select 1 from shares s where s.cooperation_id = c.id
        and s.resource_type = ${type} and s.resource_id = ${id})
      or exists (select 1 from grants g where g.cooperation_id = c.id
        and g.resource_type = ${type} and g.resource_id = ${id}))
    order by c.id`;
  return rows.map((r) => r.id as string);
}

/** The owning organization of a park or portfolio, locked against concurrent moves and deletes. */
export async function lockResourceOwner(tx: Tx, type: ResourceType, id: string): Promise<string | null> {
  const rows =
    type === "park"
      ? await tx`select organization_id from parks where id = ${id} for share`
      : await tx`select organization_id from portfolios where id = ${id} for share`;
  return (rows[0]?.organization_id as string | undefined) ?? null;
}

/** Lock the parks and portfolios a cooperation's shares and delegations are on (id order). */
export async function lockResourcesOf(tx: Tx, cooperationId: string): Promise<void> {
  const on = (type: ResourceType) => tx`select resource_id from shares
      where cooperation_id = ${cooperationId} and resource_type = ${type}
    union select resource_id from grants where cooperation_id = ${cooperationId} and resource_type = ${type}`;
  await tx`select id from portfolios where id in (${on("portfolio")}) order by id for share`;
  await tx`select id from parks where id in (${on("park")}) order by id for share`;
}

/** Whether `organizationId` receives the resource through a non-ended cooperation (directly or via its portfolio). */
export async function receivesResource(
  tx: Tx,
  organizationId: string,
  type: ResourceType,
  id: string,
): Promise<boolean> {
  const [r] = await tx`select 1 from shares s join cooperations c on c.id = s.cooperation_id
    where c.partner_organization_id = ${organizationId} and c.state <> 'ended'
      and ((s.resource_type = ${type} and s.resource_id = ${id})
        or (${type} = 'park' and s.resource_type = 'portfolio'
            and s.resource_id = (select portfolio_id from parks where id = ${id})))
    limit 1`;
  return Boolean(r);
}
