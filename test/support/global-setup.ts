import { execFileSync } from "node:child_process";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { migrate } from "../../src/db/migrate.js";
import { startInfra } from "./infra.js";

declare module "vitest" {
  export interface ProvidedContext {
    openfgaUrl: string;
    databaseUrl: string;
    templateDb: string;
    runId: string;
  }
}

/** Start (or find) OpenFGA and PostgreSQL once, and a migrated template database to clone per test. */
export default async function setup(project: TestProject) {
  // The driver patch (scripts/patch-postgres.mjs) is applied at install; make
  // sure the tests never run against an unpatched driver (idempotent).
  execFileSync(process.execPath, ["scripts/patch-postgres.mjs"], { stdio: "inherit" });
  const infra = await startInfra();
  const templateDb = `authz_tpl_${process.pid}`;
  const admin = postgres(infra.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${templateDb} with (force)`);
  await admin.unsafe(`create database ${templateDb}`);
  const u = new URL(infra.databaseUrl);
  u.pathname = `/${templateDb}`;
  const tpl = postgres(u.toString(), { max: 1, onnotice: () => {} });
  await migrate(tpl);
  await tpl.end();
  process.stdout.write(`test infra: openfga=${infra.source.openfga}; database=${infra.source.database}\n`);
  project.provide("openfgaUrl", infra.openfgaUrl);
  project.provide("databaseUrl", infra.databaseUrl);
  project.provide("templateDb", templateDb);
  project.provide("runId", String(process.pid));
  return async () => {
    // Drop every per-test database cloned from this run's template, then the template.
    const rows =
      await admin`select datname from pg_database where datname like ${`authz_t_${process.pid}_%`}`;
    for (const r of rows)
      await admin.unsafe(`drop database if exists "${r.datname}" with (force)`).catch(() => {});
    await admin.unsafe(`drop database if exists ${templateDb} with (force)`).catch(() => {});
    await admin.end();
    await infra.stop();
  };
}
