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

/** The classes in their order, as the race tests (test/integration/lock-order.test.ts) name them. */
export const LOCK_ORDER = [
  "organization",
  "memberships",
  "resources",
  "cooperations",
  "shares-grants",
] as const;
