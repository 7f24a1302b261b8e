import type { Sql } from "../db/pool.js";
import type { Engine } from "../engine/client.js";
import type { Delta } from "../kernel/tuples.js";

/**
 * Advance the engine revision (migration 0003). Called after every engine
 * write and before the change it belongs to commits or answers, so a revision
 * read after a 2xx is at least this one.
 */
export async function bumpRevision(sql: Sql): Promise<void> {
  await sql`select nextval('engine_revision')`;
}

/**
 * The one way to change engine tuples: write the delta, then advance the
 * revision, so that every decision cache stops serving answers computed
 * before the write. Changes, journal recovery, reconcile repairs and
 * compensations all go through here.
 */
export async function writeEngine(deps: { engine: Engine }, sql: Sql, delta: Delta): Promise<void> {
  if (delta.writes.length === 0 && delta.deletes.length === 0) return;
  await deps.engine.write(delta);
  await bumpRevision(sql);
}

/** What a decision cache must know, read in one statement after the decision arrived. */
export interface RevisionState {
  /** The engine revision (0 before the first engine write). */
  revision: number;
  /** Some change is between its journal entry and its end (or failed and is not repaired yet). */
  changesOpen: boolean;
  /** The earliest expiry of an active cooperation after `at` (ms since epoch), Infinity when none. */
  nextExpiry: number;
}

export async function readRevision(sql: Sql, at: Date): Promise<RevisionState> {
  const [row] = await sql`select
      (select case when is_called then last_value else 0 end from engine_revision) as revision,
      exists (select 1 from engine_journal) as open,
      (select min(expires_at) from cooperations
        where state = 'active' and expires_at is not null and expires_at > ${at}) as next_expiry`;
  const next = row!.next_expiry as Date | null;
  return {
    revision: Number(row!.revision),
    changesOpen: row!.open === true,
    nextExpiry: next ? next.getTime() : Number.POSITIVE_INFINITY,
  };
}
