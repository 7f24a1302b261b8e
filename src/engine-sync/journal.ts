import type { Sql, Tx } from "../db/pool.js";
import type { Deps } from "../kernel/deps.js";
import { type Delta, sameCondition, type Tuple, tupleKey } from "../kernel/tuples.js";
import { desiredTuples } from "./reconcile.js";
import { bumpRevision, writeEngine } from "./revision.js";
import { ENGINE_SYNC_LOCK } from "./sync-lock.js";

/**
 * The engine journal: which tuples a change is about to write or delete,
 * committed before the engine write and removed after the change commits.
 * Recovery only has to look at the keys of rows left behind, so a restart
 * after a crash costs in proportion to what was in flight, not to the store.
 */

export type Key = Pick<Tuple, "user" | "relation" | "object">;

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

/**
 * Make the engine agree with the database on these keys (the caller holds the
 * engine-sync lock exclusively and `sql` is its transaction), then advance the
 * revision even when nothing differed: a decision cache may have seen the
 * tuples of a change that failed meanwhile. Returns how many tuples it wrote
 * or deleted. Journal recovery and the settling of a failed change use it.
 */
export async function repairKeys(deps: Deps, sql: Sql, keys: Map<string, Key>): Promise<number> {
  const desired = new Map(
    (await desiredTuples({ ...deps, sql })).filter((t) => keys.has(tupleKey(t))).map((t) => [tupleKey(t), t]),
  );
  const delta: Delta = { writes: [], deletes: [] };
  for (const [key, k] of keys) {
    const want = desired.get(key);
    const have = await deps.engine.readOne(k);
    if (want && have ? sameCondition(want, have) : !want && !have) continue;
    if (have) delta.deletes.push(have);
    if (want) delta.writes.push(want);
  }
  if (delta.writes.length || delta.deletes.length) await writeEngine(deps, sql, delta);
  else await bumpRevision(sql);
  return delta.writes.length + delta.deletes.length;
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
  // Ages by the database's clock, which wrote created_at (the process clock
  // may be behind it by less than a millisecond, hiding a row just written).
  const age = minAgeMs / 1000;
  const only = ids ?? null;
  const pending = await deps.sql`select id from engine_journal
    where created_at <= clock_timestamp() - make_interval(secs => ${age})
    and (${only}::bigint[] is null or id = any(${only}::bigint[])) limit 1`;
  if (pending.length === 0) return { entries: 0, keys: 0, repaired: 0 };
  return (await deps.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ENGINE_SYNC_LOCK}::bigint)`;
    const rows = await tx`select id::text as id, tuples from engine_journal
      where created_at <= clock_timestamp() - make_interval(secs => ${age})
      and (${only}::bigint[] is null or id = any(${only}::bigint[])) order by id`;
    const keys = new Map<string, Key>();
    for (const r of rows) for (const k of r.tuples as Key[]) keys.set(tupleKey(k), k);
    const repaired = await repairKeys(deps, tx as unknown as Sql, keys);
    await tx`delete from engine_journal where id = any(${rows.map((r) => r.id as string)}::bigint[])`;
    return { entries: rows.length, keys: keys.size, repaired };
  })) as JournalRecovery;
}
