import type { JobLevel, ResourceType } from "../engine/permissions.js";
import { Conflict, NotFound } from "./errors.js";
import { newId } from "./organizations.js";
import { isPgError, PG } from "./pg-errors.js";
import { type CooperationState, cooperationTuples, grantTuples, shareTuples } from "./tuples.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * Shared cooperation verbs (used by invitations and the cooperations module).
 * They run inside a unit of work; callers check authority first.
 */

export interface ShareInput {
  resource: { type: ResourceType; id: string };
  level: JobLevel;
}

export interface CooperationRow {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: CooperationState;
  expiresAt: Date | null;
}

export async function lockCooperation(uow: UnitOfWork, id: string): Promise<CooperationRow> {
  const [r] = await uow.tx`select id, owner_organization_id, partner_organization_id, state, expires_at
    from cooperations where id = ${id} for update`;
  if (!r) throw NotFound("cooperation-not-found", `no cooperation ${id}`);
  return {
    id: r.id,
    ownerOrganizationId: r.owner_organization_id,
    partnerOrganizationId: r.partner_organization_id,
    state: r.state,
    expiresAt: r.expires_at,
  };
}

/** The pair rules of the cooperations table (one open cooperation per pair; not with itself) as conflicts. */
async function pairConstraints(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (isPgError(err, PG.uniqueViolation))
      throw Conflict("cooperation-exists", "a cooperation between these organizations already exists");
    if (isPgError(err, PG.checkViolation))
      throw Conflict("cooperation-with-itself", "an organization cannot cooperate with itself");
    throw err;
  }
}

/** A pending cooperation with its shares (created with a cooperation invitation). Nothing is shared yet (R-C6). */
export async function createPendingCooperation(
  uow: UnitOfWork,
  c: {
    ownerOrganizationId: string;
    partnerOrganizationId: string | null;
    expiresAt: Date | null;
    shares: ShareInput[];
  },
): Promise<CooperationRow> {
  const id = newId("coop");
  await pairConstraints(
    uow.tx`insert into cooperations (id, owner_organization_id, partner_organization_id, state, expires_at)
      values (${id}, ${c.ownerOrganizationId}, ${c.partnerOrganizationId}, 'pending', ${c.expiresAt})`,
  );
  const row: CooperationRow = { id, ...c, state: "pending" };
  uow.tuples([], cooperationTuples(row));
  for (const s of c.shares) {
    await uow.tx`insert into shares (cooperation_id, resource_type, resource_id, level)
      values (${id}, ${s.resource.type}, ${s.resource.id}, ${s.level})`;
    uow.tuples(
      [],
      shareTuples({
        cooperationId: id,
        resourceType: s.resource.type,
        resourceId: s.resource.id,
        level: s.level,
      }),
    );
  }
  const orgs = [c.ownerOrganizationId, ...(c.partnerOrganizationId ? [c.partnerOrganizationId] : [])];
  uow.audit({
    action: "cooperation.created",
    target: { type: "cooperation", id },
    organizationIds: orgs,
    before: null,
    after: {
      state: "pending",
      partnerOrganizationId: c.partnerOrganizationId,
      expiresAt: c.expiresAt,
      shares: c.shares,
    },
  });
  return row;
}

/** Pending → active with the partner organization (invitation acceptance, R-I8). */
export async function activateCooperation(
  uow: UnitOfWork,
  id: string,
  partnerOrganizationId: string,
): Promise<CooperationRow> {
  const before = await lockCooperation(uow, id);
  if (before.state !== "pending")
    throw Conflict("cooperation-not-pending", `cooperation ${id} is ${before.state}`);
  await pairConstraints(
    uow.tx`update cooperations set state = 'active', partner_organization_id = ${partnerOrganizationId}, updated_at = now()
      where id = ${id} and state = 'pending'`,
  );
  const after: CooperationRow = { ...before, state: "active", partnerOrganizationId };
  uow.tuples(cooperationTuples(before), cooperationTuples(after));
  uow.audit({
    action: "cooperation.activated",
    target: { type: "cooperation", id },
    organizationIds: [before.ownerOrganizationId, partnerOrganizationId],
    before: { state: before.state },
    after: { state: "active", partnerOrganizationId },
  });
  return after;
}

/** Both sides of a cooperation, for audit visibility (R-A2). */
export function cooperationOrgIds(c: CooperationRow): string[] {
  return [c.ownerOrganizationId, ...(c.partnerOrganizationId ? [c.partnerOrganizationId] : [])];
}

interface DelegationRow {
  resource_type: ResourceType;
  resource_id: string;
  user_id: string;
  level: JobLevel;
  cooperation_id: string;
}

async function dropDelegations(uow: UnitOfWork, c: CooperationRow, rows: readonly DelegationRow[]) {
  for (const g of rows) {
    uow.tuples(
      grantTuples({
        resourceType: g.resource_type,
        resourceId: g.resource_id,
        userId: g.user_id,
        level: g.level,
        cooperationId: g.cooperation_id,
      }),
      [],
    );
    uow.audit({
      action: "delegation.removed",
      target: { type: g.resource_type, id: g.resource_id },
      organizationIds: cooperationOrgIds(c),
      before: { userId: g.user_id, level: g.level, cooperationId: c.id },
      after: null,
    });
  }
}

/**
 * R-C9: a delegation exists only while some share of its cooperation covers
 * its resource (the resource itself or, for a park, its portfolio). Deletes
 * the rows and tuples of every delegation of `c` that nothing covers any more.
 * Call after removing a share, moving a park or deleting a resource.
 */
export async function pruneUncoveredDelegations(uow: UnitOfWork, c: CooperationRow): Promise<number> {
  const rows = await uow.tx<DelegationRow[]>`delete from grants g
    where g.cooperation_id = ${c.id}
      and not exists (
        select 1 from shares s
        where s.cooperation_id = g.cooperation_id
          and ((s.resource_type = g.resource_type and s.resource_id = g.resource_id)
            or (g.resource_type = 'park' and s.resource_type = 'portfolio'
                and s.resource_id = (select p.portfolio_id from parks p where p.id = g.resource_id))))
    returning resource_type, resource_id, user_id, level, cooperation_id`;
  await dropDelegations(uow, c, rows);
  return rows.length;
}

/** R-C10: ending deletes every delegation made under the cooperation. */
export async function removeAllDelegations(uow: UnitOfWork, c: CooperationRow): Promise<number> {
  const rows = await uow.tx<DelegationRow[]>`delete from grants where cooperation_id = ${c.id}
    returning resource_type, resource_id, user_id, level, cooperation_id`;
  await dropDelegations(uow, c, rows);
  return rows.length;
}

/** Remove one share (row + tuple, audited); false when there was none. Delegations are not pruned here. */
export async function removeShareRow(
  uow: UnitOfWork,
  c: CooperationRow,
  resource: { type: ResourceType; id: string },
): Promise<boolean> {
  const [prev] = await uow.tx<{ level: JobLevel }[]>`delete from shares
    where cooperation_id = ${c.id} and resource_type = ${resource.type} and resource_id = ${resource.id}
    returning level`;
  if (!prev) return false;
  uow.tuples(
    shareTuples({
      cooperationId: c.id,
      resourceType: resource.type,
      resourceId: resource.id,
      level: prev.level,
    }),
    [],
  );
  uow.audit({
    action: "cooperation.share.removed",
    target: { type: "cooperation", id: c.id },
    organizationIds: cooperationOrgIds(c),
    before: { resource, level: prev.level },
    after: null,
  });
  return true;
}

/**
 * For the resources module: a park or portfolio is being deleted or a park
 * moved to another portfolio. Removes the shares of a deleted resource and
 * prunes the delegations no share covers any more, in every non-ended
 * cooperation that touches it (R-C9, "no dangling share"). Call after the
 * park's new portfolio is written (move) or before the row is deleted.
 */
export async function detachResourceFromCooperations(
  uow: UnitOfWork,
  resource: { type: ResourceType; id: string },
  opts: { deleted: boolean },
): Promise<void> {
  const ids = await uow.tx<{ id: string }[]>`select distinct c.id from cooperations c
    where c.state <> 'ended' and (
      exists (select 1 from shares s where s.cooperation_id = c.id
        and s.resource_type = ${resource.type} and s.resource_id = ${resource.id})
      or exists (select 1 from grants g where g.cooperation_id = c.id
        and g.resource_type = ${resource.type} and g.resource_id = ${resource.id}))
    order by c.id`;
  for (const { id } of ids) {
    const c = await lockCooperation(uow, id);
    if (opts.deleted) await removeShareRow(uow, c, resource);
    await pruneUncoveredDelegations(uow, c);
  }
}
