import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Sql } from "./pool.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
/** Arbitrary constant: serialises concurrent migrators (several replicas starting at once). */
const LOCK_KEY = 7_312_904_118;

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

/**
 * Apply numbered forward-only migrations (NNNN_name.sql) not yet recorded in
 * schema_migrations. Safe to run twice and concurrently: an advisory lock held
 * on one reserved connection serialises migrators, and each file is applied
 * with its record in one transaction.
 */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const conn = await sql.reserve();
  const result: MigrationResult = { applied: [], skipped: [] };
  try {
    await conn`select pg_advisory_lock(${LOCK_KEY})`;
    await conn`create table if not exists schema_migrations (
      version text primary key, applied_at timestamptz not null default now())`;
    const done = new Set((await conn`select version from schema_migrations`).map((r) => r.version as string));
    for (const file of files) {
      if (done.has(file)) {
        result.skipped.push(file);
        continue;
      }
      const text = await readFile(`${dir}/${file}`, "utf8");
      await conn`begin`;
      try {
        await conn.unsafe(text);
        await conn`insert into schema_migrations (version) values (${file})`;
        await conn`commit`;
      } catch (err) {
        await conn`rollback`;
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      result.applied.push(file);
    }
  } finally {
    await conn`select pg_advisory_unlock(${LOCK_KEY})`.catch(() => {});
    conn.release();
  }
  return result;
}
