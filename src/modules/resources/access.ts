import { grantTuples, shareTuples } from "../../domain/tuples.js";
import type { UnitOfWork } from "../../domain/unit-of-work.js";
import type { ResourceType } from "../../engine/permissions.js";
import { uncoveredParkDelegations } from "./levels.js";
import * as repo from "./repo.js";

/**
 * Removing access inside a unit of work: rows, tuples and audit together.
 * Used when a resource is deleted (R-H2) and when a park leaves a shared
 * portfolio (R-C9).
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

/** Every grant, delegation and share on a resource goes with it: no dangling access (R-H2). */
export async function removeAllAccess(
  uow: UnitOfWork,
  type: ResourceType,
  id: string,
  ownerOrgId: string,
): Promise<void> {
  for (const g of await repo.grantsOn(uow.tx, type, id, true)) await removeGrant(uow, g, ownerOrgId);
  for (const s of await repo.sharesOn(uow.tx, type, id)) {
    await repo.deleteShare(uow.tx, s);
    uow.tuples(shareTuples(s), []);
    uow.audit({
      action: "share.removed",
      target: { type: "cooperation", id: s.cooperationId },
      organizationIds: [s.ownerOrganizationId, ...(s.partnerOrganizationId ? [s.partnerOrganizationId] : [])],
      before: { resource: { type, id }, level: s.level, because: "resource-deleted" },
      after: null,
    });
  }
}

/** After a park moved to `portfolioId`: delete its delegations no share of their cooperation covers (R-C9). */
export async function dropUncoveredDelegations(
  uow: UnitOfWork,
  park: { id: string; portfolioId: string; organizationId: string },
): Promise<repo.GrantRow[]> {
  const delegations = (await repo.grantsOn(uow.tx, "park", park.id, true)).filter(
    (g): g is repo.GrantRow & { cooperationId: string } => g.cooperationId !== null,
  );
  if (delegations.length === 0) return [];
  const shares = await repo.coveringShares(uow.tx, {
    cooperationIds: [...new Set(delegations.map((d) => d.cooperationId))],
    parkId: park.id,
    portfolioId: park.portfolioId,
  });
  const gone = uncoveredParkDelegations(park.id, park.portfolioId, delegations, shares);
  for (const g of gone) await removeGrant(uow, g, park.organizationId);
  return gone;
}
