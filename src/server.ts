import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { serve } from "@hono/node-server";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { migrate } from "./db/migrate.js";
import { createDb, pingDb } from "./db/pool.js";
import type { Deps } from "./domain/deps.js";
import { recoverJournal } from "./domain/journal.js";
import { reconcile } from "./domain/reconcile.js";
import type { Tuple } from "./domain/tuples.js";
import { bootstrapEngine, DEFAULT_MODEL_FILE, loadModelFile } from "./engine/bootstrap.js";
import { Engine } from "./engine/client.js";
import { buildDecisionCache } from "./engine/decision-cache.js";
import { generateApiKey, hashApiKey } from "./http/auth.js";
import { findOpenFgaBinary, startLocalOpenFga } from "./local/openfga.js";
import { startEmbeddedPostgres } from "./local/pglite.js";
import { metrics } from "./metrics.js";
import { startMetricsServer } from "./metrics-server.js";
import { loadRouteTable } from "./modules/gateway/table.js";
import { expireDue } from "./modules/invitations/lifecycle.js";
import { startWebhookWorker, type WebhookWorker } from "./modules/invitations/worker.js";
import { bootstrapSysadmins } from "./modules/platform/service.js";
import { Readiness } from "./readiness.js";
import { flushTelemetry } from "./telemetry.js";

export interface RunningService {
  url: string;
  /** The metrics listener's `/metrics` URL (when METRICS_ENABLED). */
  metricsUrl?: string;
  stop(): Promise<void>;
}

type Stopper = () => Promise<void>;

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

async function retry<T>(what: string, log: Logger, fn: () => Promise<T>, stopped: () => boolean): Promise<T> {
  let delay = 250;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (stopped()) throw err;
      log.warn({ err: (err as Error).message, retryInMs: delay }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/**
 * Start everything: the embedded dependencies when nothing is configured, the
 * HTTP server at once (so /healthz answers and /readyz says what is missing),
 * then the database, the engine and the model with retries and backoff.
 */
export async function startService(config: Config, log: Logger): Promise<RunningService> {
  const stoppers: Stopper[] = [];
  const customModel = Boolean(config.MODEL_FILE);
  // A bad forward-auth route table stops the start before any child process exists.
  if (config.ROUTES_FILE) loadRouteTable(config.ROUTES_FILE);

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
    stoppers.push(local.stop);
  }

  let dbUrl = config.DATABASE_URL;
  let poolMax = config.DATABASE_POOL_MAX;
  if (!dbUrl && !customModel) {
    const pg = await startEmbeddedPostgres(path.resolve(config.DATA_DIR, "pglite"));
    dbUrl = pg.url;
    poolMax = 1;
    stoppers.push(pg.stop);
    log.info("embedded PostgreSQL (PGlite) under the data folder");
  }

  let apiKeys = config.API_KEYS;
  let printedKey: string | undefined;
  if (apiKeys.length === 0) {
    printedKey = await localApiKey(config.DATA_DIR, log);
    apiKeys = [{ name: "local", scopes: ["decide", "manage"], hash: hashApiKey(printedKey) }];
  }
  const effective: Config = { ...config, API_KEYS: apiKeys };

  const sql = createDb({ url: dbUrl ?? "postgres://unused@127.0.0.1:1/unused", max: poolMax });
  // The engine journal needs its own connections (its rows commit while the
  // change's transaction is open); PGlite is one session, so not there.
  const journalSql = dbUrl && poolMax > 1 ? createDb({ url: dbUrl, max: 2 }) : undefined;
  if (config.METRICS_ENABLED && !customModel) metrics().registerDbCollectors(sql);
  const engine = new Engine({
    apiUrl: fgaUrl,
    apiToken: config.OPENFGA_API_TOKEN,
    storeId: config.OPENFGA_STORE_ID,
    modelId: config.OPENFGA_MODEL_ID,
    timeoutMs: config.OPENFGA_TIMEOUT_MS,
    searchTimeoutMs: config.OPENFGA_SEARCH_TIMEOUT_MS,
    maxInFlight: config.ENGINE_MAX_IN_FLIGHT,
    queueMax: config.ENGINE_QUEUE_MAX,
    queueWaitMs: config.ENGINE_QUEUE_WAIT_MS,
  });
  // The decision cache's revision reads get their own connection, so they never queue behind changes.
  const fenceSql = journalSql ? createDb({ url: dbUrl!, max: 1 }) : undefined;
  const decisions = buildDecisionCache({
    engine,
    size: config.DECISION_CACHE_SIZE,
    builtInModel: !customModel,
    fenceSql,
  });
  const readiness = new Readiness();
  if (customModel) readiness.database = true;
  const deps: Deps = {
    config: effective,
    log,
    sql,
    engine,
    managementEnabled: !customModel,
    now: () => new Date(),
    journalSql,
    decisions,
  };
  async function fullReconcile(when: string) {
    const report = await reconcile(deps, { repair: true });
    if (report.repaired) {
      log.warn({ missing: report.missing.length, extra: report.extra.length, when }, "repaired engine drift");
    }
    return report;
  }
  const app = createApp({ ...deps, readiness });
  const metricsServer = config.METRICS_ENABLED
    ? await startMetricsServer({
        host: config.METRICS_HOST ?? config.HOST,
        port: config.METRICS_PORT,
        text: () => metrics().registry.metrics(),
        log,
      })
    : undefined;

  let stopping = false;
  let webhook: WebhookWorker | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }) as http.Server;
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.PORT;
  const url = `http://${config.HOST}:${port}`;

  const startup = (async () => {
    if (!customModel) {
      await retry(
        "database",
        log,
        async () => {
          await pingDb(sql);
          await migrate(sql);
          readiness.database = true;
        },
        () => stopping,
      );
    }
    const model = await retry(
      "model file",
      log,
      () => loadModelFile(config.MODEL_FILE ?? DEFAULT_MODEL_FILE),
      () => stopping,
    );
    await retry(
      "engine bootstrap",
      log,
      async () => {
        const res = await bootstrapEngine(engine, {
          storeName: config.OPENFGA_STORE_NAME,
          storeId: config.OPENFGA_STORE_ID,
          modelId: config.OPENFGA_MODEL_ID,
          model,
        });
        readiness.engine = true;
        log.info(res, "engine bootstrapped");
      },
      () => stopping,
    );
    if (config.TUPLES_FILE) {
      const tuples = await loadTuplesFile(config.TUPLES_FILE);
      await retry(
        "tuples file",
        log,
        () => engine.write({ writes: tuples, deletes: [] }),
        () => stopping,
      );
      log.info({ count: tuples.length }, "loaded tuples");
    }
    if (!customModel) {
      await retry(
        "bootstrap sysadmins",
        log,
        () => bootstrapSysadmins(deps, config.BOOTSTRAP_SYSADMINS),
        () => stopping,
      );
      // A crash between an engine write and its commit leaves drift: repair it before serving (R-G3).
      // With the journal that means only the tuples of changes left in flight
      // (cheap at any store size); the full comparison runs on its schedule.
      if (journalSql) {
        const recovered = await retry(
          "journal recovery",
          log,
          () => recoverJournal(deps),
          () => stopping,
        );
        if (recovered.entries) log.warn(recovered, "recovered engine writes left in flight");
      } else {
        await retry(
          "reconcile",
          log,
          () => fullReconcile("at start"),
          () => stopping,
        );
      }
    }
    readiness.model = true;
    // R-I10: deliver invitation events from the outbox when a webhook is configured.
    if (!customModel && config.WEBHOOK_URL && !stopping) {
      if (config.WEBHOOK_SECRET)
        webhook = startWebhookWorker(deps, { url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET });
      else log.error("WEBHOOK_URL is set without WEBHOOK_SECRET: invitation events stay in the outbox");
    }
    // Without a delivery worker (which sweeps expiries itself), still mark
    // pending invitations past their expiry every minute, so each `expired`
    // event lands in the outbox (R-I4, R-I10) even if nobody touches them.
    if (!customModel && !webhook && !stopping) {
      expiryTimer = setInterval(() => {
        expireDue(deps).catch((err) => log.warn({ err: (err as Error).message }, "expiry sweep failed"));
      }, 60_000);
      expiryTimer.unref();
    }
    log.info({ url }, "ready");
  })().catch((err) => {
    if (!stopping) log.error({ err }, "start-up failed");
  });

  // Keep /readyz honest after start: a dependency that goes away turns it 503.
  const probe = setInterval(async () => {
    if (!customModel) {
      readiness.database = await pingDb(sql).then(
        () => true as const,
        (e: Error) => `unreachable: ${e.message}`,
      );
    }
    if (readiness.model === true) {
      readiness.engine = await engine.ping().then(
        () => true as const,
        () => "unreachable",
      );
    }
  }, 2000);
  probe.unref();

  let reconcileTimer: NodeJS.Timeout | undefined;
  if (!customModel && config.RECONCILE_INTERVAL_S > 0) {
    reconcileTimer = setInterval(() => {
      if (readiness.ready) fullReconcile("scheduled").catch(() => {});
    }, config.RECONCILE_INTERVAL_S * 1000);
    reconcileTimer.unref();
  }
  // Journal rows older than any change can take are left-overs of a failed or
  // crashed change (e.g. on another replica): repair their tuples soon.
  let journalTimer: NodeJS.Timeout | undefined;
  if (!customModel && journalSql) {
    journalTimer = setInterval(() => {
      if (!readiness.ready) return;
      recoverJournal(deps, 30_000)
        .then((r) => r.entries && log.warn(r, "recovered engine writes left in flight"))
        .catch((err) => log.warn({ err: err.message }, "journal recovery failed"));
    }, 10_000);
    journalTimer.unref();
  }

  if (printedKey) {
    process.stdout.write(
      `\nauthz-sidecar listening on ${url}\nlocal API key (decide+manage): ${printedKey}\n\n`,
    );
  }

  return {
    url,
    metricsUrl: metricsServer?.url,
    async stop() {
      stopping = true;
      clearInterval(probe);
      if (reconcileTimer) clearInterval(reconcileTimer);
      if (journalTimer) clearInterval(journalTimer);
      if (expiryTimer) clearInterval(expiryTimer);
      // Stop accepting, let in-flight requests finish (bounded), then close pools and children.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, config.SHUTDOWN_TIMEOUT_MS);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      await metricsServer?.close();
      await startup.catch(() => {});
      await webhook?.stop();
      await sql.end({ timeout: 5 }).catch(() => {});
      await journalSql?.end({ timeout: 5 }).catch(() => {});
      await fenceSql?.end({ timeout: 5 }).catch(() => {});
      engine.close();
      for (const stop of stoppers.reverse()) await stop().catch(() => {});
      // Flush the last spans to the collector (no-op without an OTLP endpoint).
      await flushTelemetry();
    },
  };
}

/** TUPLES_FILE: a JSON or YAML list of {user, relation, object[, condition]}. */
export async function loadTuplesFile(file: string): Promise<Tuple[]> {
  const text = await readFile(file, "utf8");
  const data = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  const list = Array.isArray(data) ? data : (data?.tuples ?? []);
  return (list as Tuple[]).map((t) => {
    if (!t?.user || !t?.relation || !t?.object) throw new Error(`bad tuple in ${file}: ${JSON.stringify(t)}`);
    return t;
  });
}
