import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Sql } from "./db/pool.js";

/**
 * Prometheus metrics, named authz_* with units in the name. One registry per
 * process (tests may build their own with createMetrics()).
 */
export function createMetrics() {
  const registry = new Registry();
  const cacheSources = new Set<() => number>();
  const cacheEntries = () => [...cacheSources].reduce((n, f) => n + f(), 0);
  collectDefaultMetrics({ register: registry, prefix: "authz_process_" });
  const m = {
    registry,
    decisions: new Counter({
      name: "authz_decisions_total",
      help: "Decisions answered, by endpoint and result (allow, deny, error)",
      labelNames: ["endpoint", "result"] as const,
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: "authz_decision_duration_seconds",
      help: "Latency of decision endpoints",
      labelNames: ["endpoint"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    engineSeconds: new Histogram({
      name: "authz_engine_call_duration_seconds",
      help: "Latency of OpenFGA calls, by operation",
      labelNames: ["operation"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    engineErrors: new Counter({
      name: "authz_engine_errors_total",
      help: "OpenFGA calls that failed, by operation",
      labelNames: ["operation"] as const,
      registers: [registry],
    }),
    explainInconsistencies: new Counter({
      name: "authz_explain_inconsistencies_total",
      help: "Explanations and access reviews where the engine and the database rows disagreed (the engine's answer stands)",
      labelNames: ["endpoint"] as const,
      registers: [registry],
    }),
    decisionCacheHits: new Counter({
      name: "authz_decision_cache_hits_total",
      help: "Decisions answered from the decision cache (fresh by the revision fence)",
      registers: [registry],
    }),
    decisionCacheMisses: new Counter({
      name: "authz_decision_cache_misses_total",
      help: "Decisions that asked the engine (cache off, bypassed, or no fresh entry)",
      registers: [registry],
    }),
    revisionReads: new Counter({
      name: "authz_decision_revision_reads_total",
      help: "Engine revision reads by the decision cache (one serves every decision that waited for it)",
      registers: [registry],
    }),
    revisionReadErrors: new Counter({
      name: "authz_decision_revision_read_errors_total",
      help: "Engine revision reads that failed (decisions then go to the engine directly)",
      registers: [registry],
    }),
    decisionCacheEntries: new Gauge({
      name: "authz_decision_cache_entries",
      help: "Entries in the decision cache",
      registers: [registry],
      collect() {
        this.set(cacheEntries());
      },
    }),
    dbPoolMax: new Gauge({
      name: "authz_db_pool_max_connections",
      help: "Configured size of the PostgreSQL pool",
      registers: [registry],
    }),
    dbTransactionsInFlight: new Gauge({
      name: "authz_db_transactions_in_flight",
      help: "Unit-of-work transactions currently holding a pool connection (a lower bound of connections in use)",
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: "authz_outbox_backlog_events",
      help: "Outbox events not delivered yet (read from the database at scrape time)",
      registers: [registry],
      collect: () => db.refresh(),
    }),
    outboxOldestAge: new Gauge({
      name: "authz_outbox_oldest_age_seconds",
      help: "Age of the oldest undelivered outbox event, 0 when none (read at scrape time)",
      registers: [registry],
      collect: () => db.refresh(),
    }),
    invitations: new Gauge({
      name: "authz_invitations",
      help: "Invitations by status (read from the database at scrape time)",
      labelNames: ["status"] as const,
      registers: [registry],
      collect: () => db.refresh(),
    }),
    dbScrapeErrors: new Counter({
      name: "authz_metrics_db_scrape_errors_total",
      help: "Scrapes whose database gauges could not be read (the outbox gauges are then NaN)",
      registers: [registry],
    }),
    /**
     * Read the database gauges at scrape time from this pool (called once by
     * server.ts). Without it the database gauges stay absent.
     */
    registerDbCollectors(sql: Sql) {
      db.sql = sql;
      m.dbPoolMax.set(Number(sql.options.max));
    },
    /** Count this cache's entries in authz_decision_cache_entries; returns the unregister function. */
    watchCache(entries: () => number): () => void {
      cacheSources.add(entries);
      return () => cacheSources.delete(entries);
    },
    gauges: { Gauge },
  };
  // prom-client reads metrics concurrently: the three database gauges share
  // one read per scrape (the first collect starts it, the others await it).
  const db: { sql?: Sql; pending?: Promise<void>; refresh: () => Promise<void>; read: () => Promise<void> } =
    {
      refresh() {
        db.pending ??= db.read().finally(() => {
          db.pending = undefined;
        });
        return db.pending;
      },
      async read() {
        const { outboxBacklog, outboxOldestAge, invitations, dbScrapeErrors } = m;
        invitations.reset();
        if (!db.sql) return;
        try {
          const [outbox] = await db.sql<{ n: string; age: number | null }[]>`
          select count(*)::text as n, extract(epoch from now() - min(created_at))::float8 as age
          from outbox where delivered_at is null`;
          const rows = await db.sql<{ status: string; n: string }[]>`
          select status, count(*)::text as n from invitations group by status`;
          outboxBacklog.set(Number(outbox?.n ?? 0));
          outboxOldestAge.set(Math.max(0, outbox?.age ?? 0));
          for (const status of INVITATION_STATUSES) invitations.set({ status }, 0);
          for (const r of rows) invitations.set({ status: r.status }, Number(r.n));
        } catch {
          dbScrapeErrors.inc();
          outboxBacklog.set(Number.NaN);
          outboxOldestAge.set(Number.NaN);
          invitations.reset();
        }
      },
    };
  return m;
}

const INVITATION_STATUSES = ["pending", "accepted", "declined", "revoked", "expired"];

export type Metrics = ReturnType<typeof createMetrics>;

let shared: Metrics | undefined;
/** The process-wide metrics. */
export function metrics(): Metrics {
  shared ??= createMetrics();
  return shared;
}
