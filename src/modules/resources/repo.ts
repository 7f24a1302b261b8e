import type postgres from "postgres";
import type { JobLevel, OrgRole, ResourceType } from "../../engine/permissions.js";
import { NotFound } from "../../kernel/errors.js";
import type { ShareRow } from "../../kernel/tuples.js";

/** SQL of the resources module. `Db` is the pool or a transaction. */
export type Db = postgres.ISql;

export interface PortfolioRow {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ParkRow extends PortfolioRow {
  portfolioId: string;
}

export interface GrantRow {
  resourceType: ResourceType;
  resourceId: string;
  userId: string;
  level: JobLevel;
  organizationId: string;
  cooperationId: string | null;
}

/** A share on a resource (the one ShareRow shape) with its cooperation's sides. */
export interface ShareWithSides extends ShareRow {
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
}

type Row = Record<string, unknown>;

const portfolio = (r: Row): PortfolioRow => ({
  id: r.id as string,
  organizationId: r.organization_id as string,
  name: r.name as string,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});
const park = (r: Row): ParkRow => ({ ...portfolio(r), portfolioId: r.portfolio_id as string });
const grant = (r: Row): GrantRow => ({
  resourceType: r.resource_type as ResourceType,
  resourceId: r.resource_id as string,
  userId: r.user_id as string,
  level: r.level as JobLevel,
  organizationId: r.organization_id as string,
  cooperationId: (r.cooperation_id as string | null) ?? null,
});
const share = (r: Row): ShareWithSides => ({
  cooperationId: r.cooperation_id as string,
  resourceType: r.resource_type as ResourceType,
  resourceId: r.resource_id as string,
  level: r.level as JobLevel,
  ownerOrganizationId: r.owner_organization_id as string,
  partnerOrganizationId: (r.partner_organization_id as string | null) ?? null,
});

/** Row lock mode: `update` for changes of the row, `share` to keep it from moving or going away. */
export type Lock = false | "update" | "share";
const lockClause = (db: Db, lock: Lock) =>
  lock === "update" ? db`for update` : lock === "share" ? db`for share` : db``;

export async function findPortfolio(db: Db, id: string, lock: Lock = false): Promise<PortfolioRow | null> {
  const rows = await db`select * from portfolios where id = ${id} ${lockClause(db, lock)}`;
  return rows[0] ? portfolio(rows[0]) : null;
}

export async function findPark(db: Db, id: string, lock: Lock = false): Promise<ParkRow | null> {
  const rows = await db`select * from parks where id = ${id} ${lockClause(db, lock)}`;
  return rows[0] ? park(rows[0]) : null;
}

/** A park or portfolio (locked with `lock`), or 404 park-not-found / portfolio-not-found. */
export async function loadResource(db: Db, type: "park", id: string, lock?: Lock): Promise<ParkRow>;
export async function loadResource(
  db: Db,
  type: ResourceType,
  id: string,
  lock?: Lock,
): Promise<PortfolioRow>;
export async function loadResource(
  db: Db,
  type: ResourceType,
  id: string,
  lock: Lock = false,
): Promise<PortfolioRow | ParkRow> {
  const row = type === "park" ? await findPark(db, id, lock) : await findPortfolio(db, id, lock);
  if (!row) throw NotFound(`${type}-not-found`, `no ${type} ${id}`);
  return row;
}

/** Insert unless the id exists (a concurrent create); null then. */
export async function insertPortfolio(db: Db, p: { id: string; organizationId: string; name: string }) {
  const [r] = await db`insert into portfolios (id, organization_id, name)
    values (${p.id}, ${p.organizationId}, ${p.name}) on conflict (id) do nothing returning *`;
  return r ? portfolio(r) : null;
}

export async function renamePortfolio(db: Db, id: string, name: string): Promise<PortfolioRow> {
  const [r] = await db`update portfolios set name = ${name}, updated_at = now() where id = ${id} returning *`;
  return portfolio(r!);
}

export async function insertPark(
  db: Db,
  p: { id: string; organizationId: string; portfolioId: string; name: string },
): Promise<ParkRow | null> {
  const [r] = await db`insert into parks (id, organization_id, portfolio_id, name)
    values (${p.id}, ${p.organizationId}, ${p.portfolioId}, ${p.name}) on conflict (id) do nothing returning *`;
  return r ? park(r) : null;
}

export async function updatePark(db: Db, id: string, portfolioId: string, name: string): Promise<ParkRow> {
  const [r] = await db`update parks set portfolio_id = ${portfolioId}, name = ${name}, updated_at = now()
    where id = ${id} returning *`;
  return park(r!);
}

export async function portfolioHasParks(db: Db, id: string): Promise<boolean> {
  const rows = await db`select 1 from parks where portfolio_id = ${id} limit 1`;
  return rows.length > 0;
}

export async function deleteResourceRow(db: Db, type: ResourceType, id: string): Promise<void> {
  if (type === "park") await db`delete from parks where id = ${id}`;
  else await db`delete from portfolios where id = ${id}`;
}

export async function grantsOn(db: Db, type: ResourceType, id: string, lock = false): Promise<GrantRow[]> {
  const rows = lock
    ? await db`select * from grants where resource_type = ${type} and resource_id = ${id} order by user_id for update`
    : await db`select * from grants where resource_type = ${type} and resource_id = ${id} order by user_id`;
  return rows.map(grant);
}

/** One page of grants on a resource, ordered by user id; `organizationId` limits to delegations of that organization. */
export async function pageGrants(
  db: Db,
  q: { type: ResourceType; id: string; organizationId?: string; after?: string; limit: number },
): Promise<GrantRow[]> {
  const rows = await db`select * from grants where resource_type = ${q.type} and resource_id = ${q.id}
    ${q.organizationId ? db`and organization_id = ${q.organizationId} and cooperation_id is not null` : db``}
    ${q.after ? db`and user_id > ${q.after}` : db``}
    order by user_id limit ${q.limit}`;
  return rows.map(grant);
}

export async function findGrant(db: Db, type: ResourceType, id: string, userId: string, lock = false) {
  const rows = lock
    ? await db`select * from grants where resource_type = ${type} and resource_id = ${id} and user_id = ${userId} for update`
    : await db`select * from grants where resource_type = ${type} and resource_id = ${id} and user_id = ${userId}`;
  return rows[0] ? grant(rows[0]) : null;
}

/**
 * Insert a grant unless one exists; false when a row was there (possibly one a
 * concurrent change inserted and committed while this insert waited on the
 * unique index: the caller must then read and lock it as its `before`).
 */
export async function insertGrant(db: Db, g: GrantRow & { grantedBy: string }): Promise<boolean> {
  const rows =
    await db`insert into grants (resource_type, resource_id, user_id, level, organization_id, cooperation_id, granted_by)
    values (${g.resourceType}, ${g.resourceId}, ${g.userId}, ${g.level}, ${g.organizationId}, ${g.cooperationId}, ${g.grantedBy})
    on conflict (resource_type, resource_id, user_id) do nothing returning 1`;
  return rows.length === 1;
}

export async function upsertGrant(db: Db, g: GrantRow & { grantedBy: string }): Promise<void> {
  await db`insert into grants (resource_type, resource_id, user_id, level, organization_id, cooperation_id, granted_by)
    values (${g.resourceType}, ${g.resourceId}, ${g.userId}, ${g.level}, ${g.organizationId}, ${g.cooperationId}, ${g.grantedBy})
    on conflict (resource_type, resource_id, user_id) do update set level = excluded.level,
      organization_id = excluded.organization_id, cooperation_id = excluded.cooperation_id,
      granted_by = excluded.granted_by, updated_at = now()`;
}

export async function deleteGrant(db: Db, g: Pick<GrantRow, "resourceType" | "resourceId" | "userId">) {
  await db`delete from grants where resource_type = ${g.resourceType} and resource_id = ${g.resourceId}
    and user_id = ${g.userId}`;
}

/** Shares on a resource with their cooperation's sides (callers hold the cooperation's lock). */
export async function sharesOn(db: Db, type: ResourceType, id: string): Promise<ShareWithSides[]> {
  const rows = await db`select s.*, c.owner_organization_id, c.partner_organization_id
    from shares s join cooperations c on c.id = s.cooperation_id
    where s.resource_type = ${type} and s.resource_id = ${id} order by s.cooperation_id`;
  return rows.map(share);
}

export async function membershipOf(
  db: Db,
  userId: string,
  lock = false,
): Promise<{ organizationId: string; role: OrgRole } | null> {
  const rows = lock
    ? await db`select organization_id, role from memberships where user_id = ${userId} for share`
    : await db`select organization_id, role from memberships where user_id = ${userId}`;
  return rows[0] ? { organizationId: rows[0].organization_id, role: rows[0].role } : null;
}

/** The active cooperation owner → partner, if any (the one non-ended pair, R-C1). */
export async function activeCooperationId(
  db: Db,
  ownerId: string,
  partnerId: string,
): Promise<string | null> {
  const [r] = await db`select id from cooperations where owner_organization_id = ${ownerId}
    and partner_organization_id = ${partnerId} and state = 'active'`;
  return r ? (r.id as string) : null;
}
