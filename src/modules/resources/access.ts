import type { ResourceType } from "../../engine/permissions.js";
import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import { grantTuples } from "../../kernel/tuples.js";
import { detachResourceFromCooperations } from "../cooperations/index.js";
import * as repo from "./repo.js";

/**
 * Removing access inside a unit of work: rows, tuples and audit together.
 * Used when a resource is deleted (R-H2).
 */

/** One audit record per grant or delegation change; delegations are visible to both organizations (R-A2). */
export function grantAudit(
  uow: UnitOfWork,
  ownerOrgId: string,
  before: repo.GrantRow | null,
  after: repo.GrantRow | null,
) {
  const g = (after ?? before)!;
  const delegation = g.cooperationId !== null;
  const view = (x: repo.GrantRow | null) =>
    x && {
      userId: x.userId,
      level: x.level,
      organizationId: x.organizationId,
      cooperationId: x.cooperationId,
    };
  uow.audit({
    action: `${delegation ? "delegation" : "grant"}.${after ? "set" : "removed"}`,
    target: { type: g.resourceType, id: g.resourceId },
    organizationIds: [...new Set([ownerOrgId, ...(delegation ? [g.organizationId] : [])])],
    before: view(before),
    after: view(after),
  });
}

export async function removeGrant(uow: UnitOfWork, g: repo.GrantRow, ownerOrgId: string): Promise<void> {
  await repo.deleteGrant(uow.tx, g);
  uow.tuples(grantTuples(g), []);
  grantAudit(uow, ownerOrgId, g, null);
}

/**
 * Every grant, delegation and share on a resource goes with it: no dangling
 * access or share (R-H2). Shares go through the shared cooperation verb, which
 * also prunes delegations elsewhere that only the removed share covered.
 */
export async function removeAllAccess(
  uow: UnitOfWork,
  type: ResourceType,
  id: string,
  ownerOrgId: string,
): Promise<void> {
  for (const g of await repo.grantsOn(uow.tx, type, id, true)) await removeGrant(uow, g, ownerOrgId);
  await detachResourceFromCooperations(uow, { type, id }, { deleted: true });
}
