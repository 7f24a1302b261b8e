import type { Sql, Tx } from "../../db/pool.js";
import type { CooperationRow } from "../../domain/cooperations.js";
import { NotFound } from "../../domain/errors.js";
import type { CooperationState } from "../../domain/tuples.js";
import type { JobLevel, ResourceType } from "../../engine/permissions.js";

/** SQL of the cooperations module. Lifecycle updates are guarded by the expected state. */

type Db = Sql | Tx;

interface RawCooperation {
  id: string;
  owner_organization_id: string;
  partner_organization_id: string | null;
  state: CooperationState;
  expires_at: Date | null;
  created_at: Date;
}

export interface ShareRow {
  cooperationId: string;
  resource: { type: ResourceType; id: string };
  level: JobLevel;
}

function toRow(r: RawCooperation): CooperationRow & { createdAt: Date } {
  return {
    id: r.id,
    ownerOrganizationId: r.owner_organization_id,
    partnerOrganizationId: r.partner_organization_id,
    state: r.state,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
  };
}

export async function findCooperation(db: Db, id: string) {
  const [r] = await db<RawCooperation[]>`select id, owner_organization_id, partner_organization_id, state,
      expires_at, created_at from cooperations where id = ${id}`;
  return r ? toRow(r) : null;
}

/** The cooperation, or 404 cooperation-not-found. */
export async function loadCooperation(db: Db, id: string) {
  const c = await findCooperation(db, id);
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
  const rows = await db<(RawCooperation & { cursor_at: string })[]>`select id, owner_organization_id,
      partner_organization_id, state, expires_at, created_at,
      to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
    from cooperations where ${side} ${page}
    order by created_at desc, id desc limit ${q.limit}`;
  return rows.map((r) => ({ ...toRow(r), cursorAt: r.cursor_at }));
}

export async function sharesOf(db: Db, cooperationIds: string[]): Promise<ShareRow[]> {
  if (cooperationIds.length === 0) return [];
  const rows = await db<
    { cooperation_id: string; resource_type: ResourceType; resource_id: string; level: JobLevel }[]
  >`
    select cooperation_id, resource_type, resource_id, level from shares
    where cooperation_id in ${db(cooperationIds)} order by resource_type, resource_id`;
  return rows.map((r) => ({
    cooperationId: r.cooperation_id,
    resource: { type: r.resource_type, id: r.resource_id },
    level: r.level,
  }));
}

/** The owning organization of a park or portfolio, locked against concurrent moves and deletes. */
export async function lockResourceOwner(tx: Tx, type: ResourceType, id: string): Promise<string | null> {
  const rows =
    type === "park"
      ? await tx<{ organization_id: string }[]>`select organization_id from parks where id = ${id} for share`
      : await tx<
          { organization_id: string }[]
        >`select organization_id from portfolios where id = ${id} for share`;
  return rows[0]?.organization_id ?? null;
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

export async function shareLevel(
  tx: Tx,
  cooperationId: string,
  type: ResourceType,
  id: string,
): Promise<JobLevel | null> {
  const [r] = await tx<{ level: JobLevel }[]>`select level from shares
    where cooperation_id = ${cooperationId} and resource_type = ${type} and resource_id = ${id} for update`;
  return r?.level ?? null;
}

export async function upsertShare(tx: Tx, s: ShareRow): Promise<void> {
  await tx`insert into shares (cooperation_id, resource_type, resource_id, level)
    values (${s.cooperationId}, ${s.resource.type}, ${s.resource.id}, ${s.level})
    on conflict (cooperation_id, resource_type, resource_id)
    do update set level = excluded.level, updated_at = now()`;
}

/**
 * Guarded transition: only from one of `from`; `notExpiredAt` additionally
 * refuses a cooperation whose expiry has passed (it reads `expired`).
 */
export async function transition(
  tx: Tx,
  id: string,
  from: CooperationState[],
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

export async function deleteAllShares(tx: Tx, cooperationId: string): Promise<ShareRow[]> {
  const rows = await tx<{ resource_type: ResourceType; resource_id: string; level: JobLevel }[]>`
    delete from shares where cooperation_id = ${cooperationId} returning resource_type, resource_id, level`;
  return rows.map((r) => ({
    cooperationId,
    resource: { type: r.resource_type, id: r.resource_id },
    level: r.level,
  }));
}
