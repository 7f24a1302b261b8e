import type { Sql } from "../db/pool.js";
import type { Deps } from "../kernel/deps.js";
import { Unavailable } from "../kernel/errors.js";
import { isPgError, PG } from "../kernel/pg-errors.js";
import { type Delta, tupleKey } from "../kernel/tuples.js";
import { type Key, repairKeys } from "./journal.js";
import { writeEngine } from "./revision.js";
import { ENGINE_SYNC_LOCK } from "./sync-lock.js";

/**
 * What a change did so far, for compensation when it fails after its engine
 * write started (src/engine-sync/unit-of-work.ts).
 */
export class ChangeState {
  delta: Delta | undefined;
  journalId: string | undefined;
  engine: "none" | "writing" | "written" = "none";
  /** The transaction callback; it can outlive begin() when the connection drops. */
  body: Promise<unknown> | undefined;
}

/** How long a request waits for the database to tell whether its commit happened. */
const OUTCOME_WAIT_MS = 3000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 2000;
/** Engine calls that timed out may still land; look again after this long. */
const CONFIRM_AFTER_MS = 1000;

type Outcome = "committed" | "rolled-back";

/**
 * A change failed after its engine write started (R-G2). Undo the engine
 * delta at once (no database needed), then settle from the database: under
 * the exclusive engine-sync lock, the journal row tells whether the commit
 * happened (the commit deletes it), and the engine is made to agree with the
 * database on the change's keys; only then does the journal row go (the
 * decision cache serves nothing while one is open). Settling retries in the
 * background until both answer. A commit whose outcome was unknown and turns
 * out to have happened within OUTCOME_WAIT_MS answers as a success; past it
 * the answer is 503 `change-outcome-unknown`.
 *
 * Returns the change's result when it committed after all; otherwise throws.
 */
export async function compensate<T>(
  deps: Deps,
  st: ChangeState,
  err: unknown,
  committing: boolean,
): Promise<T> {
  const delta = st.delta!;
  const undo: Delta = { writes: delta.deletes, deletes: delta.writes };
  let doubt = st.engine === "writing";
  try {
    await writeEngine(deps, deps.sql, undo);
  } catch (undoErr) {
    doubt = true;
    deps.log.warn(
      { err: undoErr },
      "undoing a failed change's engine write failed; settling in the background",
    );
  }
  const settled = settleLoop(deps, st, doubt);
  if (!committing) {
    settled.catch(() => {});
    throw err;
  }
  const outcome = await Promise.race([settled, sleep(OUTCOME_WAIT_MS).then(() => undefined)]);
  if (outcome === "committed") return (await st.body) as T;
  if (outcome === "rolled-back") throw err;
  deps.log.warn({ err }, "commit outcome unknown; settling in the background");
  throw Unavailable(
    "change-outcome-unknown",
    "the database did not confirm the commit: the change may or may not have been applied; read before retrying",
  );
}

/**
 * Settle until a pass succeeds, and once more if an engine call may still land
 * late (a write that timed out can be applied after the engine answers the
 * first pass). The journal row stays until that last pass, so an empty
 * journal means settled, and the decision cache serves nothing until then.
 */
async function settleLoop(deps: Deps, st: ChangeState, doubt: boolean): Promise<Outcome> {
  let delay = RETRY_MIN_MS;
  let outcome: Outcome | undefined;
  for (;;) {
    try {
      outcome = await settlePass(deps, st, outcome, !doubt);
      if (!doubt) return outcome;
      doubt = false;
      await sleep(CONFIRM_AFTER_MS);
      continue;
    } catch (err) {
      if (ended(err)) throw err;
      deps.log.debug({ err }, "settling a failed change: not yet");
    }
    await sleep(delay);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

/**
 * One pass: under the exclusive engine-sync lock (no change between its
 * engine write and its commit meanwhile), learn the outcome, make the engine
 * agree with the database on the change's keys and, on the last pass, remove
 * the journal row. Reads every tuple the database implies and keeps the
 * change's keys: this runs only after a failure.
 */
async function settlePass(
  deps: Deps,
  st: ChangeState,
  known: Outcome | undefined,
  last: boolean,
): Promise<Outcome> {
  const delta = st.delta!;
  return (await deps.sql.begin(async (tx) => {
    const sql = tx as unknown as Sql;
    await tx`select pg_advisory_xact_lock(${ENGINE_SYNC_LOCK}::bigint)`;
    let outcome: Outcome = known ?? "rolled-back";
    if (!known && st.journalId !== undefined) {
      const row = await tx`select 1 from engine_journal where id = ${st.journalId}::bigint`;
      outcome = row.length ? "rolled-back" : "committed";
    }
    const keys = new Map<string, Key>();
    for (const t of [...delta.writes, ...delta.deletes]) keys.set(tupleKey(t), t);
    await repairKeys(deps, sql, keys);
    if (last && st.journalId !== undefined)
      await tx`delete from engine_journal where id = ${st.journalId}::bigint`;
    return outcome;
  })) as Outcome;
}

/** The pool was closed (shutdown, or a test's end): stop retrying. */
function ended(err: unknown): boolean {
  return isPgError(err, PG.connectionEnded);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
