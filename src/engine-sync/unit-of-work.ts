import type { Span } from "@opentelemetry/api";
import type { Sql, Tx } from "../db/pool.js";
import { type ActorContext, type Deps, ProcessCrash } from "../kernel/deps.js";
import { isRetryableConflict } from "../kernel/pg-errors.js";
import { diffTuples, type Tuple } from "../kernel/tuples.js";
import { metrics } from "../metrics.js";
import { withSpan } from "../telemetry.js";
import { journalBegin, journalEndInTx } from "./journal.js";
import { writeEngine } from "./revision.js";
import { ChangeState, compensate } from "./settle.js";
import { ENGINE_SYNC_LOCK } from "./sync-lock.js";

export interface AuditEntry {
  action: string;
  target: { type: string; id: string };
  /** Organizations whose admins may read this event (R-A2): both sides for cooperations. */
  organizationIds: string[];
  before?: unknown;
  after?: unknown;
}

/** Collects what one change does besides its rows: audit records and the tuple delta. */
export class UnitOfWork {
  readonly audits: AuditEntry[] = [];
  readonly writes: Tuple[] = [];
  readonly deletes: Tuple[] = [];

  constructor(
    readonly tx: Tx,
    readonly ctx: ActorContext,
    /** Run after the transaction commits (never when it rolls back). */
    readonly afterCommit: (() => Promise<void>)[] = [],
  ) {}

  audit(entry: AuditEntry): void {
    this.audits.push(entry);
  }

  /** A new entity: the tuples it implies are all new, and its audit record has no `before`. */
  created(tuples: Tuple[], entry: Omit<AuditEntry, "before">): void {
    this.tuples([], tuples);
    this.audit(entry);
  }

  /** Record the tuples an entity implied before and after the change. */
  tuples(before: Tuple[], after: Tuple[]): void {
    const d = diffTuples(before, after);
    this.writes.push(...d.writes);
    this.deletes.push(...d.deletes);
  }
}

/**
 * One change = its rows, its audit records and its tuple delta, as one unit
 * (R-A1, R-G1, R-G2). Order: rows and audit in a transaction, the journal row
 * (committed on its own pool), the engine write, then the commit, which also
 * deletes the journal row. So the journal row exists exactly as long as the
 * change is not known to have committed, and its presence is how an unknown
 * outcome is settled (src/engine-sync/settle.ts).
 *
 * When anything fails after the engine write started, the engine delta is
 * undone at once (compensate) and the outcome settled from the database as
 * soon as it answers; a change that turns out committed is re-applied and
 * answered 2xx. If the process dies instead, the journal row names the tuples
 * and recovery (at start, and for old rows every few seconds) repairs them.
 */
export async function runChange<T>(
  deps: Deps,
  ctx: ActorContext,
  fn: (uow: UnitOfWork) => Promise<T>,
): Promise<T> {
  // Spans: `change` (the domain verb, renamed after its first audit action)
  // around `db.transaction` (one per unit of work; single queries are not
  // traced) around the engine write. The in-flight gauge counts transactions
  // that hold a pool connection.
  return withSpan("change", { "enduser.id": ctx.actorId }, (span) =>
    withSpan("db.transaction", { "db.system.name": "postgresql" }, async () => {
      const inFlight = metrics().dbTransactionsInFlight;
      let after: (() => Promise<void>)[] = [];
      let state = new ChangeState();
      let result: T;
      for (let attempt = 1; ; attempt++) {
        after = [];
        state = new ChangeState();
        try {
          result = (await deps.sql.begin((tx) => {
            inFlight.inc();
            // The callback can outlive begin() when the connection drops (begin
            // rejects at once); compensation waits for it to stop first.
            state.body = changeInTx(deps, ctx, tx, fn, span, after, state).finally(() => inFlight.dec());
            return state.body;
          })) as T;
        } catch (err) {
          // First let the callback stop (it may be about to write to the engine).
          // If it returned, begin() failed at COMMIT: the outcome is unknown.
          const committing = await state.body?.then(
            () => true,
            () => false,
          );
          if (err instanceof ProcessCrash) throw err;
          if (state.engine === "none") {
            // A deadlock or serialization failure aborted the attempt before it
            // reached the engine: run it again (src/engine-sync/lock-order.ts).
            if (attempt < DEADLOCK_ATTEMPTS && isRetryableConflict(err)) {
              await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
              continue;
            }
            throw err;
          }
          result = (await compensate(deps, state, err, committing === true)) as T;
        }
        break;
      }
      // Committed: the change stands whatever happens next.
      try {
        await deps.faults?.afterCommit?.();
        for (const task of after) await task();
      } catch (err) {
        deps.log.warn({ err }, "after-commit task failed");
      }
      return result;
    }),
  );
}

const DEADLOCK_ATTEMPTS = 4;

/**
 * A change whose answer is a read of its result: the read runs inside the
 * change's transaction, so a committed change answers 2xx even when the
 * database goes away right after the commit (R-G1).
 */
export function runChangeAndRead<R>(
  deps: Deps,
  ctx: ActorContext,
  fn: (uow: UnitOfWork) => Promise<unknown>,
  read: (deps: Deps) => Promise<R>,
): Promise<R> {
  return runChange(deps, ctx, async (uow) => {
    await fn(uow);
    return read({ ...deps, sql: uow.tx as unknown as Sql });
  });
}

async function changeInTx<T>(
  deps: Deps,
  ctx: ActorContext,
  tx: Tx,
  fn: (uow: UnitOfWork) => Promise<T>,
  span: Span,
  afterCommit: (() => Promise<void>)[],
  state: ChangeState,
): Promise<T> {
  const uow = new UnitOfWork(tx, ctx, afterCommit);
  const result = await fn(uow);
  if (uow.audits[0]) {
    span.updateName(`change ${uow.audits[0].action}`);
    span.setAttribute("authz.audit.actions", uow.audits.map((a) => a.action).join(","));
  }
  for (const a of uow.audits) {
    await tx`insert into audit_events ${tx({
      actor_id: ctx.actorId,
      action: a.action,
      target_type: a.target.type,
      target_id: a.target.id,
      organization_ids: a.organizationIds,
      before: a.before === undefined ? null : (tx.json(a.before as never) as never),
      after: a.after === undefined ? null : (tx.json(a.after as never) as never),
      request_id: ctx.requestId,
    })}`;
  }
  const delta = diffTuples(uow.deletes, uow.writes);
  if (delta.writes.length || delta.deletes.length) {
    // Held until commit: the reconciler and journal recovery (exclusive) never
    // read between this change's engine write and its commit, which they would
    // take for drift.
    await tx`select pg_advisory_xact_lock_shared(${ENGINE_SYNC_LOCK}::bigint)`;
    // Write-ahead: if anything after this fails or the process dies, the
    // journal row names the tuples to check (src/engine-sync/journal.ts).
    state.delta = delta;
    if (deps.journalSql) state.journalId = await journalBegin(deps.journalSql, delta);
    await deps.faults?.beforeEngineWrite?.();
    state.engine = "writing";
    await writeEngine(deps, tx as unknown as Sql, delta);
    state.engine = "written";
    await deps.faults?.afterEngineWrite?.();
    // Gone with the commit, kept by a rollback: the row is the outcome.
    if (state.journalId !== undefined) await journalEndInTx(tx, state.journalId);
    await deps.faults?.beforeCommit?.();
  }
  return result;
}
