import type { Sql as Pool, Tx } from "../../db/pool.js";
import type { JobLevel, OrgRole, ResourceType } from "../../engine/permissions.js";
import { NotFound } from "../../kernel/errors.js";

/** SQL of the organizations module. `sql` may be the pool or a transaction. */
type Sql = Pool | Tx;

export interface OrganizationRow {
  id: string;
  name: string;
  createdAt: Date;
}

export interface MemberRow {
  userId: string;
  email: string | null;
  role: OrgRole;
  joinedAt: Date;
}

export interface GrantRow {
  resourceType: ResourceType;
  resourceId: string;
  userId: string;
  level: JobLevel;
  organizationId: string;
  cooperationId: string | null;
}

export async function findOrganization(sql: Sql, id: string): Promise<OrganizationRow | undefined> {
  const [r] = await sql`select id, name, created_at from organizations where id = ${id}`;
  return r ? { id: r.id, name: r.name, createdAt: r.created_at } : undefined;
}

/**
 * The organization row locked: every verb that can lower the admin count takes
 * it first (R-O6). FOR NO KEY UPDATE: the key is never changed, and the FOR KEY
 * SHARE lock that inserting a grant or membership takes on it (foreign key)
 * does not wait for it (src/engine-sync/lock-order.ts).
 */
export async function lockOrganization(sql: Sql, id: string): Promise<OrganizationRow | undefined> {
  const [r] = await sql`select id, name, created_at from organizations where id = ${id} for no key update`;
  return r ? { id: r.id, name: r.name, createdAt: r.created_at } : undefined;
}

/** The organization (locked with `lock`), or 404 organization-not-found. */
export async function loadOrganization(sql: Sql, id: string, lock = false): Promise<OrganizationRow> {
  const org = lock ? await lockOrganization(sql, id) : await findOrganization(sql, id);
  if (!org) throw NotFound("organization-not-found", `no organization ${id}`);
  return org;
}

export async function insertOrganization(sql: Sql, o: { id: string; name: string }): Promise<void> {
  await sql`insert into organizations (id, name) values (${o.id}, ${o.name})`;
}

export async function insertFirstPortfolio(
  sql: Sql,
  p: { id: string; organizationId: string; name: string },
): Promise<void> {
  await sql`insert into portfolios (id, organization_id, name) values (${p.id}, ${p.organizationId}, ${p.name})`;
}

/** The organization a user belongs to (R-O7: at most one), locked with `lock`. */
export async function organizationOfMember(
  sql: Sql,
  userId: string,
  lock = false,
): Promise<string | undefined> {
  const [r] =
    await sql`select organization_id from memberships where user_id = ${userId} ${lock ? sql`for update` : sql``}`;
  return r?.organization_id as string | undefined;
}

/** False when the user is a member already (the primary key on user_id, R-O7). */
export async function insertMembership(
  sql: Sql,
  m: { userId: string; organizationId: string; role: OrgRole },
): Promise<boolean> {
  const rows = await sql`insert into memberships (user_id, organization_id, role)
    values (${m.userId}, ${m.organizationId}, ${m.role}) on conflict (user_id) do nothing returning user_id`;
  return rows.length === 1;
}

export async function renameOrganization(sql: Sql, id: string, name: string): Promise<void> {
  await sql`update organizations set name = ${name}, updated_at = now() where id = ${id}`;
}

export async function lockMember(sql: Sql, orgId: string, userId: string): Promise<MemberRow | undefined> {
  const [r] = await sql`select m.user_id, u.email, m.role, m.joined_at from memberships m
    join users u on u.id = m.user_id
    where m.organization_id = ${orgId} and m.user_id = ${userId} for update of m`;
  return r ? toMember(r) : undefined;
}

/** The membership locked for a change, or 404 member-not-found. */
export async function loadMember(sql: Sql, orgId: string, userId: string): Promise<MemberRow> {
  const m = await lockMember(sql, orgId, userId);
  if (!m) throw NotFound("member-not-found", `${userId} is not a member of ${orgId}`);
  return m;
}

export async function countAdmins(sql: Sql, orgId: string): Promise<number> {
  const [r] = await sql`select count(*)::int as n from memberships
    where organization_id = ${orgId} and role = 'admin'`;
  return r!.n as number;
}

export async function setRole(sql: Sql, orgId: string, userId: string, role: OrgRole): Promise<void> {
  await sql`update memberships set role = ${role} where organization_id = ${orgId} and user_id = ${userId}`;
}

export async function deleteMembership(sql: Sql, orgId: string, userId: string): Promise<void> {
  await sql`delete from memberships where organization_id = ${orgId} and user_id = ${userId}`;
}

/** Every grant and delegation of a user, deleted (R-O8). */
export async function deleteGrantsOf(sql: Sql, userId: string): Promise<GrantRow[]> {
  const rows = await sql`delete from grants where user_id = ${userId}
    returning resource_type, resource_id, user_id, level, organization_id, cooperation_id`;
  return rows.map((r) => ({
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    userId: r.user_id,
    level: r.level,
    organizationId: r.organization_id,
    cooperationId: r.cooperation_id,
  }));
}

/** Both sides of the given cooperations (for the audit's organization ids, R-A2). */
export async function cooperationSides(sql: Sql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql`select owner_organization_id, partner_organization_id from cooperations
    where id = any(${ids})`;
  return rows.flatMap((r) => [r.owner_organization_id, r.partner_organization_id].filter(Boolean));
}

/** Members ordered by user id, after the cursor's user id. */
export async function listMembers(
  sql: Sql,
  orgId: string,
  limit: number,
  afterUserId: string | null,
): Promise<MemberRow[]> {
  const rows = await sql`select m.user_id, u.email, m.role, m.joined_at from memberships m
    join users u on u.id = m.user_id
    where m.organization_id = ${orgId} ${afterUserId === null ? sql`` : sql`and m.user_id collate "C" > ${afterUserId}`}
    order by m.user_id collate "C" limit ${limit}`;
  return rows.map(toMember);
}

export async function findMe(sql: Sql, userId: string) {
  const [r] = await sql`select u.id, u.email, m.role, o.id as org_id, o.name as org_name from users u
    left join memberships m on m.user_id = u.id
    left join organizations o on o.id = m.organization_id
    where u.id = ${userId}`;
  return r
    ? {
        user: { id: r.id as string, email: (r.email ?? null) as string | null },
        organization: r.org_id ? { id: r.org_id as string, name: r.org_name as string } : null,
        role: (r.role ?? null) as OrgRole | null,
      }
    : undefined;
}

function toMember(r: Record<string, unknown>): MemberRow {
  return {
    userId: r.user_id as string,
    email: (r.email ?? null) as string | null,
    role: r.role as OrgRole,
    joinedAt: r.joined_at as Date,
  };
}
