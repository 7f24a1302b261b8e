import type { JobLevel, ResourceType } from "../../engine/permissions.js";
import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import { Forbidden, NotFound } from "../../kernel/errors.js";
import { grantTuples, shareTuples } from "../../kernel/tuples.js";
import { type CooperationRow, cooperationOrgIds, lockCooperationsOn, lockOpen } from "./aggregate.js";
import * as repo from "./repo.js";

/**
 * Shares and the delegations under them: the aggregate's other half
 * (aggregate.ts holds its lock order). A delegation exists only while some
 * share of its cooperation covers its resource (R-C9).
 */

type Ref = { type: ResourceType; id: string };

function dropDelegations(uow: UnitOfWork, c: CooperationRow, rows: readonly repo.DelegationRow[]): number {
  for (const g of rows) {
    uow.tuples(grantTuples(g), []);
    uow.audit({
      action: "delegation.removed",
      target: { type: g.resourceType, id: g.resourceId },
      organizationIds: cooperationOrgIds(c),
      before: { userId: g.userId, level: g.level, cooperationId: c.id },
      after: null,
    });
  }
  return rows.length;
}

/** R-C9: delete the delegations of `c` that no share covers any more (after a share, a move or a deletion). */
export async function pruneUncoveredDelegations(uow: UnitOfWork, c: CooperationRow): Promise<number> {
  return dropDelegations(uow, c, await repo.deleteUncoveredDelegations(uow.tx, c.id));
}

/** R-C10: ending deletes every delegation made under the cooperation. */
export async function removeAllDelegations(uow: UnitOfWork, c: CooperationRow): Promise<number> {
  return dropDelegations(uow, c, await repo.deleteAllDelegations(uow.tx, c.id));
}

/** R-C3, R-C4: add or change a share on a resource the owner organization owns. */
export async function putShare(uow: UnitOfWork, id: string, resource: Ref, level: JobLevel): Promise<void> {
  const owner = await repo.lockResourceOwner(uow.tx, resource.type, resource.id);
  const c = await lockOpen(uow, id);
  if (!owner) throw NotFound("resource-not-found", `no ${resource.type} ${resource.id}`);
  if (owner !== c.ownerOrganizationId) {
    if (await repo.receivesResource(uow.tx, c.ownerOrganizationId, resource.type, resource.id)) {
      throw Forbidden("resharing-forbidden", "a resource received through a cooperation cannot be shared on");
    }
    throw Forbidden("not-owner", `${resource.type} ${resource.id} is not owned by the owner organization`);
  }
  const key = { cooperationId: id, resourceType: resource.type, resourceId: resource.id };
  const prev = await repo.shareLevel(uow.tx, key);
  if (prev === level) return;
  await repo.upsertShare(uow.tx, { ...key, level });
  // A changed level is delete + write of the share tuple; delegations keep
  // their delegated level and the model caps them live (R-C9).
  uow.tuples(prev ? shareTuples({ ...key, level: prev }) : [], shareTuples({ ...key, level }));
  uow.audit({
    action: prev ? "cooperation.share.changed" : "cooperation.share.added",
    target: { type: "cooperation", id },
    organizationIds: cooperationOrgIds(c),
    before: prev ? { resource, level: prev } : null,
    after: { resource, level },
  });
}

/** Remove one share (row + tuple, audited); false when there was none. Delegations are not pruned here. */
async function removeShareRow(uow: UnitOfWork, c: CooperationRow, resource: Ref): Promise<boolean> {
  const prev = await repo.deleteShare(uow.tx, {
    cooperationId: c.id,
    resourceType: resource.type,
    resourceId: resource.id,
  });
  if (!prev) return false;
  uow.tuples(shareTuples(prev), []);
  uow.audit({
    action: "cooperation.share.removed",
    target: { type: "cooperation", id: c.id },
    organizationIds: cooperationOrgIds(c),
    before: { resource, level: prev.level },
    after: null,
  });
  return true;
}

/** R-C9: removing a share deletes the delegations no remaining share covers. */
export async function deleteShare(uow: UnitOfWork, id: string, resource: Ref): Promise<void> {
  await repo.lockResourceOwner(uow.tx, resource.type, resource.id);
  const c = await lockOpen(uow, id);
  if (!(await removeShareRow(uow, c, resource))) {
    throw NotFound("share-not-found", `cooperation ${id} does not share ${resource.type} ${resource.id}`);
  }
  await pruneUncoveredDelegations(uow, c);
}

/**
 * For the resources module: a park or portfolio is being deleted or a park
 * moved to another portfolio. Removes the shares of a deleted resource and
 * prunes the delegations no share covers any more, in every non-ended
 * cooperation that touches it (R-C9, "no dangling share"). Call under the
 * resource's lock, after the park's new portfolio is written (move) or
 * before the row is deleted.
 */
export async function detachResourceFromCooperations(
  uow: UnitOfWork,
  resource: Ref,
  opts: { deleted: boolean },
): Promise<void> {
  for (const c of await lockCooperationsOn(uow, resource)) {
    if (opts.deleted) await removeShareRow(uow, c, resource);
    await pruneUncoveredDelegations(uow, c);
  }
}
