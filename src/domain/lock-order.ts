import type { ResourceType } from "../engine/permissions.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * The one lock order of every verb that locks more than one row. A verb takes
 * row locks class by class in this order, and within a class in id order:
 *
 *   1. the organization row (membership changes; FOR NO KEY UPDATE, so the
 *      FOR KEY SHARE that a grant insert's foreign-key check takes on it
 *      never waits for a membership change);
 *   2. memberships;
 *   3. resources: portfolios, then parks (FOR SHARE to keep one from moving
 *      or going away, FOR UPDATE to move or delete it);
 *   4. cooperations (src/modules/cooperations/aggregate.ts, lockCooperations);
 *   5. shares, then grants.
 *
 * A verb that learns what to lock only under an earlier lock (which
 * cooperations touch a resource) reads it under that lock: adding a share or
 * a delegation needs the resource lock first, so the set cannot grow
 * meanwhile. A deadlock can still come from locks PostgreSQL takes by itself
 * (foreign-key checks, unique-index waits); runChange retries those attempts
 * (they abort before the engine write).
 */

export type RowLock = "share" | "update";

/** Class 3: lock parks and portfolios, portfolios first, each class in id order. */
export async function lockResources(
  uow: UnitOfWork,
  refs: { type: ResourceType; id: string }[],
  mode: RowLock,
): Promise<void> {
  const ids = (type: ResourceType) =>
    [...new Set(refs.filter((r) => r.type === type).map((r) => r.id))].sort();
  const clause = mode === "update" ? uow.tx`for update` : uow.tx`for share`;
  const portfolios = ids("portfolio");
  const parks = ids("park");
  if (portfolios.length)
    await uow.tx`select id from portfolios where id = any(${portfolios}) order by id ${clause}`;
  if (parks.length) await uow.tx`select id from parks where id = any(${parks}) order by id ${clause}`;
}
