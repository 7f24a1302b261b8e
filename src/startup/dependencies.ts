import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { type Config, managementEnabled } from "../config.js";
import { createDb, type Sql } from "../db/pool.js";
import { Engine } from "../engine/client.js";
import { buildDecisionCache } from "../engine/decision-cache.js";
import { generateApiKey, hashApiKey } from "../http/auth.js";
import type { Deps } from "../kernel/deps.js";
import { findOpenFgaBinary, startLocalOpenFga } from "../local/openfga.js";
import { startEmbeddedPostgres } from "../local/pglite.js";
import { metrics } from "../metrics.js";
import { Readiness } from "../readiness.js";

/** Everything the service runs on, built once; `close` ends pools, the engine client and child processes. */
export interface Dependencies {
  deps: Deps;
  readiness: Readiness;
  /** The local key printed at start when no API_KEYS are configured. */
  printedKey?: string;
  close(): Promise<void>;
}

/** The key printed for local use: created on first start, kept in the data folder. */
async function localApiKey(dataDir: string, log: Logger): Promise<string> {
  const file = path.join(dataDir, "api-key");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const { key } = generateApiKey();
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  log.info({ file }, "created a local API key");
  return key;
}

/**
 * Build the dependencies from the configuration: the embedded OpenFGA and
 * PostgreSQL when none is configured (no database at all with a custom
 * model), the pools, the engine client and the decision cache. Nothing here
 * waits for a dependency to answer: the start-up steps do (steps.ts).
 */
export async function buildDependencies(config: Config, log: Logger): Promise<Dependencies> {
  const closers: (() => Promise<void>)[] = [];
  const management = managementEnabled(config);
  let fgaUrl = config.OPENFGA_API_URL;
  if (!fgaUrl) {
    const bin = await findOpenFgaBinary(config.OPENFGA_BIN, (m) => log.info(m));
    const local = await startLocalOpenFga({
      bin,
      engine: "sqlite",
      uri: `file:${path.resolve(config.DATA_DIR, "openfga.db")}`,
      log: (m) => log.info(m),
    });
    fgaUrl = local.url;
    log.info({ pid: local.process.pid, url: local.url }, "started local OpenFGA");
    closers.push(local.stop);
  }

  let dbUrl = config.DATABASE_URL;
  let poolMax = config.DATABASE_POOL_MAX;
  if (!dbUrl && management) {
    const pg = await startEmbeddedPostgres(path.resolve(config.DATA_DIR, "pglite"));
    dbUrl = pg.url;
    poolMax = 1;
    closers.push(pg.stop);
    log.info("embedded PostgreSQL (PGlite) under the data folder");
  }

  let apiKeys = config.API_KEYS;
  let printedKey: string | undefined;
  if (apiKeys.length === 0) {
    printedKey = await localApiKey(config.DATA_DIR, log);
    apiKeys = [{ name: "local", scopes: ["decide", "manage"], hash: hashApiKey(printedKey) }];
  }

  const pools: Sql[] = [];
  const pool = (url: string, max: number) => {
    const sql = createDb({ url, max });
    pools.push(sql);
    return sql;
  };
  const sql = pool(dbUrl ?? "postgres://unused@127.0.0.1:1/unused", poolMax);
  // The engine journal needs its own connections (its rows commit while the
  // change's transaction is open); PGlite is one session, so not there. The
  // decision cache's revision reads get their own connection, so they never
  // queue behind changes.
  const journalSql = dbUrl && poolMax > 1 ? pool(dbUrl, 2) : undefined;
  const fenceSql = dbUrl && journalSql ? pool(dbUrl, 1) : undefined;
  if (config.METRICS_ENABLED && management) metrics().registerDbCollectors(sql);
  const engine = Engine.fromConfig(config, { apiUrl: fgaUrl });
  const decisions = buildDecisionCache({
    engine,
    size: config.DECISION_CACHE_SIZE,
    builtInModel: management,
    fenceSql,
  });
  const readiness = new Readiness();
  // With a custom model there is no database to wait for.
  if (!management) readiness.database = true;
  const deps: Deps = {
    config: { ...config, API_KEYS: apiKeys },
    log,
    sql,
    engine,
    managementEnabled: management,
    now: () => new Date(),
    journalSql,
    decisions,
  };
  return {
    deps,
    readiness,
    printedKey,
    async close() {
      for (const p of pools) await p.end({ timeout: 5 }).catch(() => {});
      engine.close();
      for (const stop of closers.reverse()) await stop().catch(() => {});
    },
  };
}
