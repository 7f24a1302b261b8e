import { JOB_LEVELS, type JobLevel, levelAtLeast } from "../../engine/permissions.js";
import { isRetryableConflict } from "../../kernel/pg-errors.js";

/**
 * Pure helpers for grants and delegations: the level lattice questions the
 * service asks (caps, effective levels, coverage). No I/O, unit-tested.
 */

/** Levels <= `level` in the lattice, greatest first (operator, technical_manager, asset_manager, viewer). */
export function levelsAtOrBelow(level: JobLevel): JobLevel[] {
  return JOB_LEVELS.filter((l) => levelAtLeast(level, l));
}

/**
 * The greatest level <= `granted` among those the engine says the user holds
 * (`held` answers `lvl_<level>` checks), or null. When both peers are held but
 * not operator there is no single greatest; technical_manager is reported
 * first (JOB_LEVELS order), which is the documented tie-break.
 */
export function effectiveLevel(granted: JobLevel, held: ReadonlySet<JobLevel>): JobLevel | null {
  return levelsAtOrBelow(granted).find((l) => held.has(l)) ?? null;
}

/** Whether some covering share level lets a partner admin delegate `wanted` (R-C8: peers are not <=). */
export function withinCap(shareLevels: readonly JobLevel[], wanted: JobLevel): boolean {
  return shareLevels.some((s) => levelAtLeast(s, wanted));
}

/**
 * Run a unit of work again when PostgreSQL aborted it to break a deadlock
 * (40P01) or a serialization failure (40001). The aborted attempt rolled back
 * before its engine write (runChange writes tuples last), so a retry is safe.
 * Every verb follows one lock order (src/engine-sync/lock-order.ts); what remains
 * are cycles through locks PostgreSQL takes itself (foreign-key checks).
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryableConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 20));
    }
  }
}
