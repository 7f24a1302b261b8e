import type { Sql } from "../db/pool.js";
import type { Engine } from "../engine/client.js";
import type { Delta } from "./tuples.js";

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
