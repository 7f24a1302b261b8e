import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Sql } from "../db/pool.js";
import type { Engine } from "../engine/client.js";
import type { DecisionCache } from "../engine/decision-cache.js";

/**
 * Test-only fault points of a change (src/engine-sync/unit-of-work.ts), in order;
 * production leaves them undefined. A hook that throws fails the change at
 * that point; one that throws ProcessCrash stands for the process dying there
 * (no compensation runs, as after a real crash).
 */
export interface Faults {
  /** The journal row is committed; the engine write comes next. */
  beforeEngineWrite?: () => Promise<void> | void;
  /** Called after the engine accepted a change's tuples and before the database commits. */
  afterEngineWrite?: () => Promise<void> | void;
  /** Everything is written; COMMIT comes next. */
  beforeCommit?: () => Promise<void> | void;
  /** The transaction committed; the answer comes next. */
  afterCommit?: () => Promise<void> | void;
}

/** Thrown by a fault hook: the process "dies" at that point. */
export class ProcessCrash extends Error {
  override name = "ProcessCrash";
}

/** What services need; built once in main.ts (or by the test fixture). */
export interface Deps {
  config: Config;
  log: Logger;
  sql: Sql;
  engine: Engine;
  /** false with MODEL_FILE: only the decision API is served. */
  managementEnabled: boolean;
  now: () => Date;
  faults?: Faults;
  /**
   * A second small pool for the engine journal (src/engine-sync/journal.ts): its
   * rows must commit while the change's own transaction is still open. Absent
   * with embedded PGlite (one session): start-up then reconciles the whole store.
   */
  journalSql?: Sql;
  /** Decisions (AuthZEN, forward-auth, action search) go through this cache when set (engine/decision-cache.ts). */
  decisions?: DecisionCache;
}

/** Who acts and for which request; passed to every domain verb. */
export interface ActorContext {
  actorId: string;
  actorEmail: string | null;
  requestId: string;
}
