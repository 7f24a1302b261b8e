import type { Span } from "@opentelemetry/api";
import type { Sql, Tx } from "../db/pool.js";
import { metrics } from "../metrics.js";
import { withSpan } from "../telemetry.js";
import type { ActorContext, Deps } from "./deps.js";
import { journalBegin, journalEnd } from "./journal.js";
import { writeEngine } from "./revision.js";
import { ENGINE_SYNC_LOCK } from "./sync-lock.js";
import { type Delta, diffTuples, type Tuple } from "./tuples.js";

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

  /** Record the tuples an entity implied before and after the change. */
  tuples(before: Tuple[], after: Tuple[]): void {
    const d = diffTuples(before, after);
    this.writes.push(...d.writes);
    this.deletes.push(...d.deletes);
  }

  delta(d: Delta): void {
    this.writes.push(...d.writes);
    this.deletes.push(...d.deletes);
  }
}

/**
 * One change = its rows, its audit records and its tuple delta, as one unit
 * (R-A1, R-G1, R-G2). Order: rows and audit in a transaction, then the engine
 * write, then commit. If the engine refuses or is down, the transaction rolls
 * back and nothing is visible (503). If the process dies after the engine
 * write and before commit, the engine holds tuples the database does not
 * imply: the engine journal names them, and recovery (at start, and for old
 * rows every few seconds) repairs exactly those; the full reconciler runs on a
 * schedule as a safety net. A 2xx is only sent after both have succeeded, so
 * every later decision reflects it.
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
      const after: (() => Promise<void>)[] = [];
      const result = (await deps.sql.begin(async (tx) => {
        inFlight.inc();
        try {
          return await changeInTx(deps, ctx, tx, fn, span, after);
        } finally {
          inFlight.dec();
        }
      })) as T;
      // Committed: the change stands whatever happens next; a journal row that
      // could not be removed is only confirmed by the next recovery.
      for (const task of after)
        await task().catch((err) => deps.log.warn({ err }, "after-commit task failed"));
      return result;
    }),
  );
}

async function changeInTx<T>(
  deps: Deps,
  ctx: ActorContext,
  tx: Tx,
  fn: (uow: UnitOfWork) => Promise<T>,
  span: Span,
  afterCommit: (() => Promise<void>)[],
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
    // Held until commit: the reconciler (exclusive) never reads between this
    // change's engine write and its commit, which it would take for drift.
    await tx`select pg_advisory_xact_lock_shared(${ENGINE_SYNC_LOCK}::bigint)`;
    // Write-ahead: if anything after this fails or the process dies, the
    // journal row names the tuples to check (src/domain/journal.ts).
    const journalId = deps.journalSql ? await journalBegin(deps.journalSql, delta) : undefined;
    await writeEngine(deps, tx as unknown as Sql, delta);
    await deps.faults?.afterEngineWrite?.();
    if (journalId !== undefined) uow.afterCommit.push(() => journalEnd(deps.journalSql!, journalId));
  }
  return result;
}
