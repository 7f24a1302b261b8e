import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import { Conflict } from "../../kernel/errors.js";
import { cooperationTuples, shareTuples } from "../../kernel/tuples.js";
import { type CooperationRow, cooperationOrgIds, lockCooperation, readState } from "./aggregate.js";
import * as repo from "./repo.js";
import { removeAllDelegations } from "./shares.js";

/** The state moves of the aggregate (lock order: aggregate.ts). */

/** Called when a pending cooperation ends, in its unit of work (the invitations module revokes its invitation). */
export type OnPendingEnded = (uow: UnitOfWork, cooperationId: string) => Promise<unknown>;

const MOVES = {
  pause: { from: ["active"], to: "paused" },
  resume: { from: ["paused"], to: "active" },
  end: { from: ["pending", "active", "paused"], to: "ended" },
} as const;
export type Move = keyof typeof MOVES;

/**
 * R-C5, R-C10: the one state change of a cooperation. Pause and resume touch
 * only the partner tuple, so shares and delegations come back exactly as
 * they were; ending deletes them all. Returns null, changing nothing, when
 * the cooperation is not in a state the move starts from and `strict` is
 * off; with `strict` that is 409 invalid-state-transition. `reason` goes to
 * the audit record of an end that is not an admin's own (an invitation closed).
 */
export async function moveCooperation(
  uow: UnitOfWork,
  id: string,
  move: Move,
  o: { now: Date; strict: boolean; onlyPending?: boolean; reason?: string; onPendingEnded?: OnPendingEnded },
): Promise<CooperationRow | null> {
  const m = MOVES[move];
  // Ending deletes shares and delegations: their resources are locked first (class 3).
  if (move === "end") await repo.lockResourcesOf(uow.tx, id);
  const before = await lockCooperation(uow, id);
  const from = o.onlyPending ? (["pending"] as const) : m.from;
  // An expired cooperation is not active for pausing: extend or end it.
  if (!(await repo.transition(uow.tx, id, from, m.to, move === "pause" ? o.now : undefined))) {
    if (!o.strict) return null;
    const state = readState(before, o.now);
    throw Conflict("invalid-state-transition", `cannot ${move} a cooperation that is ${state}`, { state });
  }
  const after: CooperationRow = { ...before, state: m.to };
  let removed: unknown;
  if (move === "end") {
    if (before.state === "pending") await o.onPendingEnded?.(uow, id);
    const shares = await repo.deleteAllShares(uow.tx, id);
    for (const s of shares) uow.tuples(shareTuples(s), []);
    const delegations = await removeAllDelegations(uow, before);
    removed = {
      shares: shares.map((s) => ({ resource: { type: s.resourceType, id: s.resourceId }, level: s.level })),
      delegations,
    };
  }
  uow.tuples(cooperationTuples(before), cooperationTuples(after));
  uow.audit({
    action: `cooperation.${m.to === "active" ? "resumed" : m.to}`,
    target: { type: "cooperation", id },
    organizationIds: cooperationOrgIds(before),
    before: { state: before.state },
    after: { state: m.to, ...(o.reason ? { reason: o.reason } : {}), ...(removed ? { removed } : {}) },
  });
  return after;
}

/** A cooperation invitation that will never be accepted ends its pending cooperation, so the pair is free again (R-C1). */
export async function endPendingCooperation(uow: UnitOfWork, id: string, now: Date): Promise<void> {
  await moveCooperation(uow, id, "end", {
    now,
    strict: false,
    onlyPending: true,
    reason: "invitation-closed",
  });
}
