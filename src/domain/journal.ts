import type { Sql, Tx } from "../db/pool.js";
import type { Deps } from "./deps.js";
import { desiredTuples } from "./reconcile.js";
import { bumpRevision, writeEngine } from "./revision.js";
import { ENGINE_SYNC_LOCK } from "./sync-lock.js";
import { type Delta, type Tuple, tupleKey } from "./tuples.js";

/**
 * The engine journal: which tuples a change is about to write or delete,
 * committed before the engine write and removed after the change commits.
 * Recovery only has to look at the keys of rows left behind, so a restart
 * after a crash costs in proportion to what was in flight, not to the store.
 */

type Key = Pick<Tuple, "user" | "relation" | "object">;

export async function journalBegin(journal: Sql, delta: Delta): Promise<string> {
  const keys: Key[] = [...delta.writes, ...delta.deletes].map(({ user, relation, object }) => ({
    user,
    relation,
    object,
  }));
  const [row] =
    await journal`insert into engine_journal (tuples) values (${journal.json(keys as never)}) returning id::text as id`;
  return row!.id as string;
}

/** Inside the change's transaction: the row goes with the commit and stays after a rollback. */
export async function journalEndInTx(tx: Tx, id: string): Promise<void> {
  await tx`delete from engine_journal where id = ${id}::bigint`;
}

export interface JournalRecovery {
  entries: number;
  keys: number;
  repaired: number;
}

/**
 * Make the engine agree with the database on every key of the journal rows
 * older than `minAgeMs` (0 at start-up: all of them). Holds the engine-sync
 * lock exclusively, so no change is between its engine write and its commit
 * meanwhile; rows of changes that committed but had not yet removed their row
 * are simply confirmed.
 */
export async function recoverJournal(deps: Deps, minAgeMs = 0, ids?: string[]): Promise<JournalRecovery> {
  const fresh = new Date(Date.now() - minAgeMs);
  const only = ids ?? null;
  const pending = await deps.sql`select id from engine_journal where created_at <= ${fresh}
    and (${only}::bigint[] is null or id = any(${only}::bigint[])) limit 1`;
  if (pending.length === 0) return { entries: 0, keys: 0, repaired: 0 };
  return (await deps.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ENGINE_SYNC_LOCK}::bigint)`;
    const rows = await tx`select id::text as id, tuples from engine_journal where created_at <= ${fresh}
      and (${only}::bigint[] is null or id = any(${only}::bigint[])) order by id`;
    const keys = new Map<string, Key>();
    for (const r of rows) for (const k of r.tuples as Key[]) keys.set(tupleKey(k), k);
    const desired = new Map(
      (await desiredTuples({ ...deps, sql: tx as unknown as Sql })).map((t) => [tupleKey(t), t]),
    );
    const delta: Delta = { writes: [], deletes: [] };
    for (const [key, k] of keys) {
      const want = desired.get(key);
      const have = await deps.engine.readOne(k);
      const same =
        want && have && JSON.stringify(want.condition ?? null) === JSON.stringify(have.condition ?? null);
      if (same || (!want && !have)) continue;
      if (have) delta.deletes.push(have);
      if (want) delta.writes.push(want);
    }
    // A change that failed after its engine write may have been seen by a
    // decision cache even when there is nothing left to repair: advance the
    // revision whenever rows go, so no answer computed meanwhile survives.
    if (delta.writes.length || delta.deletes.length) await writeEngine(deps, tx as unknown as Sql, delta);
    else if (rows.length) await bumpRevision(tx as unknown as Sql);
    await tx`delete from engine_journal where id = any(${rows.map((r) => r.id as string)}::bigint[])`;
    return { entries: rows.length, keys: keys.size, repaired: delta.writes.length + delta.deletes.length };
  })) as JournalRecovery;
}
