import type { Sql, Tx } from "../../db/pool.js";
import type { JobLevel, OrgRole, ResourceType, StaffRole } from "../../engine/permissions.js";
import type { CooperationState } from "../../kernel/tuples.js";
import type {
  CooperationFact,
  GrantFact,
  MembershipFact,
  Ref,
  ResourceFacts,
  ResourceSnapshot,
  ShareFact,
} from "./facts.js";

/**
 * SQL of the explain module: read-only, every answer from one snapshot
 * (REPEATABLE READ), so the reasons never mix two states of the database.
 */

export function inSnapshot<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return sql.begin("isolation level repeatable read read only", fn) as Promise<T>;
}

export async function findResource(tx: Tx, type: ResourceType, id: string): Promise<ResourceFacts | null> {
  const [r] =
    type === "park"
      ? await tx`select organization_id, portfolio_id from parks where id = ${id}`
      : await tx`select organization_id, null as portfolio_id from portfolios where id = ${id}`;
  return r ? { type, id, organizationId: r.organization_id, portfolioId: r.portfolio_id ?? null } : null;
}

export async function organizationExists(tx: Tx, id: string): Promise<boolean> {
  return (await tx`select 1 from organizations where id = ${id}`).length > 0;
}

export async function staffRole(tx: Tx, userId: string): Promise<StaffRole | null> {
  const [r] = await tx<{ role: StaffRole }[]>`select role from platform_staff where user_id = ${userId}`;
  return r?.role ?? null;
}

type RawMember = { user_id: string; organization_id: string; role: OrgRole };
const member = (r: RawMember): MembershipFact => ({
  userId: r.user_id,
  organizationId: r.organization_id,
  role: r.role,
});

export async function membershipsOf(tx: Tx, userIds: string[]): Promise<MembershipFact[]> {
  if (userIds.length === 0) return [];
  const rows = await tx<RawMember[]>`select user_id, organization_id, role from memberships
    where user_id in ${tx(userIds)}`;
  return rows.map(member);
}

/** The members of `ownerId` and the admins of `partnerIds`: everyone who may hold a level without a grant row. */
export async function holdersWithoutRows(tx: Tx, ownerId: string, partnerIds: string[]) {
  const partners = partnerIds.length
    ? tx`or (organization_id in ${tx(partnerIds)} and role = 'admin')`
    : tx``;
  const rows = await tx<RawMember[]>`select user_id, organization_id, role from memberships
    where organization_id = ${ownerId} ${partners}`;
  return rows.map(member);
}

const targetsOf = (r: ResourceFacts): Ref[] =>
  r.portfolioId ? [r, { type: "portfolio", id: r.portfolioId }] : [r];

function onTargets(tx: Tx, targets: Ref[]) {
  const [a, b] = targets;
  const one = (t: Ref) => tx`(resource_type = ${t.type} and resource_id = ${t.id})`;
  return b ? tx`(${one(a!)} or ${one(b)})` : one(a!);
}

/** Grants and delegations on the resource and a park's portfolio; `userId` limits to one user. */
export async function grantsOn(tx: Tx, r: ResourceFacts, userId?: string): Promise<GrantFact[]> {
  const rows = await tx<
    {
      resource_type: ResourceType;
      resource_id: string;
      user_id: string;
      level: JobLevel;
      cooperation_id: string | null;
    }[]
  >`select resource_type, resource_id, user_id, level, cooperation_id from grants
    where ${onTargets(tx, targetsOf(r))} ${userId ? tx`and user_id = ${userId}` : tx``}
    order by user_id, resource_type, resource_id`;
  return rows.map((g) => ({
    on: { type: g.resource_type, id: g.resource_id },
    userId: g.user_id,
    level: g.level,
    cooperationId: g.cooperation_id,
  }));
}

type RawCoop = {
  id: string;
  owner_organization_id: string;
  partner_organization_id: string | null;
  state: CooperationState;
  expires_at: Date | null;
};
const coop = (c: RawCoop): CooperationFact => ({
  id: c.id,
  ownerOrganizationId: c.owner_organization_id,
  partnerOrganizationId: c.partner_organization_id,
  state: c.state,
  expiresAt: c.expires_at,
});

/** Shares on the resource and a park's portfolio, with their (non-ended) cooperations. */
export async function sharesOn(tx: Tx, r: ResourceFacts) {
  const rows = await tx<(RawCoop & { resource_type: ResourceType; resource_id: string; level: JobLevel })[]>`
    select s.resource_type, s.resource_id, s.level, c.id, c.owner_organization_id,
      c.partner_organization_id, c.state, c.expires_at
    from shares s join cooperations c on c.id = s.cooperation_id
    where c.state <> 'ended' and ${onTargets(tx, targetsOf(r))} order by c.id, s.resource_type`;
  const shares: ShareFact[] = rows.map((s) => ({
    cooperationId: s.id,
    on: { type: s.resource_type, id: s.resource_id },
    level: s.level,
  }));
  return { shares, cooperations: new Map(rows.map((c) => [c.id, coop(c)])) };
}

/** The snapshot of one resource for the given users (all holders when `userId` is absent). */
export async function resourceSnapshot(tx: Tx, r: ResourceFacts, userId?: string): Promise<ResourceSnapshot> {
  const grants = await grantsOn(tx, r, userId);
  const { shares, cooperations } = await sharesOn(tx, r);
  let memberships: MembershipFact[];
  if (userId) memberships = await membershipsOf(tx, [userId]);
  else {
    const partners = [...cooperations.values()].flatMap((c) => c.partnerOrganizationId ?? []);
    const known = await holdersWithoutRows(tx, r.organizationId, partners);
    const seen = new Set(known.map((m) => m.userId));
    const rest = [...new Set(grants.map((g) => g.userId))].filter((u) => !seen.has(u));
    memberships = [...known, ...(await membershipsOf(tx, rest))];
  }
  return {
    resource: r,
    memberships: new Map(memberships.map((m) => [m.userId, m])),
    grants,
    shares,
    cooperations,
  };
}

/** Incoming live cooperations of a partner organization (active, not expired at `now`), by id. */
export async function incomingCooperations(
  tx: Tx,
  q: { orgId: string; now: Date; after: string | null; limit: number },
) {
  const { orgId, now, after, limit } = q;
  const rows = await tx<
    RawCoop[]
  >`select id, owner_organization_id, partner_organization_id, state, expires_at
    from cooperations where partner_organization_id = ${orgId} and state = 'active'
      and (expires_at is null or expires_at > ${now})
      ${after ? tx`and id > ${after}` : tx``}
    order by id limit ${limit}`;
  return rows.map(coop);
}

/** The shares of some cooperations. */
export async function sharesOfCooperations(tx: Tx, ids: string[]) {
  if (ids.length === 0) return [];
  return tx<{ cooperation_id: string; resource_type: ResourceType; resource_id: string; level: JobLevel }[]>`
    select cooperation_id, resource_type, resource_id, level from shares
    where cooperation_id in ${tx(ids)} order by cooperation_id, resource_type, resource_id`;
}

/** Delegations of the cooperations with the delegate's role, and the portfolio of each delegated park. */
export async function delegationsOfCooperations(tx: Tx, ids: string[]) {
  if (ids.length === 0) return [];
  return tx<
    {
      cooperation_id: string;
      resource_type: ResourceType;
      resource_id: string;
      user_id: string;
      level: JobLevel;
      role: OrgRole | null;
      portfolio_id: string | null;
    }[]
  >`select g.cooperation_id, g.resource_type, g.resource_id, g.user_id, g.level, m.role, p.portfolio_id
    from grants g
    left join memberships m on m.user_id = g.user_id and m.organization_id = g.organization_id
    left join parks p on g.resource_type = 'park' and p.id = g.resource_id
    where g.cooperation_id in ${tx(ids)} order by g.cooperation_id, g.user_id, g.resource_type, g.resource_id`;
}
