import { randomUUID } from "node:crypto";
import pino from "pino";
import { inject } from "vitest";
import { type AppDeps, createApp } from "../../src/app.js";
import { type Config, testConfig } from "../../src/config.js";
import { createDb, type Sql } from "../../src/db/pool.js";
import { bootstrapEngine, loadModelFile } from "../../src/engine/bootstrap.js";
import { Engine } from "../../src/engine/client.js";
import { buildDecisionCache, type DecisionCache } from "../../src/engine/decision-cache.js";
import { generateApiKey } from "../../src/http/auth.js";
import type { ActorContext, Deps, Faults } from "../../src/kernel/deps.js";
import { Readiness } from "../../src/readiness.js";
import { cloneDatabase } from "./database.js";

export interface TestKeys {
  decide: string;
  manage: string;
  both: string;
}

export interface RequestOptions {
  body?: unknown;
  /** X-Actor-Id (and X-Actor-Email when `email` is given). */
  actor?: string;
  email?: string;
  /** Which key to send: a name from TestKeys, a raw string, or null for none. Default "both". */
  key?: keyof TestKeys | null | { raw: string };
  headers?: Record<string, string>;
}

export interface TestContext {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  sql: Sql;
  engine: Engine;
  /** The decision cache of this app (a pass-through with DECISION_CACHE_SIZE=0 or a custom model). */
  decisions: DecisionCache;
  keys: TestKeys;
  config: Config;
  databaseUrl: string;
  /** A service-layer actor context, for factories. */
  actor(id: string, email?: string | null): ActorContext;
  request(method: string, path: string, opts?: RequestOptions): Promise<Response>;
  /** request() and parse the JSON body. */
  json<T = any>(
    method: string,
    path: string,
    opts?: RequestOptions,
  ): Promise<{ status: number; body: T; res: Response }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  config?: Partial<Record<keyof Config, string>>;
  faults?: Faults;
  /** Use a custom model file instead of model/model.fga (management disabled). */
  modelFile?: string;
  /** Use this OpenFGA URL instead of the shared one (e.g. a dedicated server a test stops). */
  openfgaUrl?: string;
}

/**
 * A fresh, isolated world per test: a database cloned from the migrated
 * template, a new OpenFGA store with the model, and the app in-process.
 */
export async function createTestContext(opts: TestAppOptions = {}): Promise<TestContext> {
  const db = await cloneDatabase();
  const { dbName, url: databaseUrl } = db;

  const keys = { decide: generateApiKey(), manage: generateApiKey(), both: generateApiKey() };
  const config = testConfig({
    LOG_LEVEL: "silent",
    // Generous by default: CI machines are small and shared; fail-closed tests stop the engine instead.
    OPENFGA_TIMEOUT_MS: "5000",
    API_KEYS: [
      `decider:decide:${keys.decide.hash}`,
      `manager:manage:${keys.manage.hash}`,
      `both:decide+manage:${keys.both.hash}`,
    ].join(","),
    ...opts.config,
  });
  const sql = createDb({ url: databaseUrl, max: 5 });
  const journalSql = createDb({ url: databaseUrl, max: 2 });
  const fenceSql = createDb({ url: databaseUrl, max: 1 });
  const engine = Engine.fromConfig(config, { apiUrl: opts.openfgaUrl ?? inject("openfgaUrl") });
  // Every test app decides through the cache as production does (DECISION_CACHE_SIZE=0 to test without).
  const decisions = buildDecisionCache({
    engine,
    size: config.DECISION_CACHE_SIZE,
    builtInModel: !opts.modelFile,
    fenceSql,
  });
  await bootstrapEngine(engine, {
    storeName: `test-${dbName}`,
    model: await loadModelFile(opts.modelFile),
  });
  const readiness = new Readiness();
  readiness.database = true;
  readiness.engine = true;
  readiness.model = true;
  const deps: AppDeps = {
    config,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    sql,
    engine,
    managementEnabled: !opts.modelFile,
    now: () => new Date(),
    faults: opts.faults,
    journalSql,
    decisions,
    readiness,
  };
  const app = createApp(deps);

  const request = (method: string, path: string, o: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? "both" : o.key;
    if (key !== null) headers.authorization = `Bearer ${typeof key === "object" ? key.raw : keys[key].key}`;
    if (o.actor) headers["x-actor-id"] = o.actor;
    if (o.email) headers["x-actor-email"] = o.email;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    return Promise.resolve(app.request(path, { method, headers, body }));
  };

  return {
    app,
    deps,
    sql,
    engine,
    decisions,
    keys: { decide: keys.decide.key, manage: keys.manage.key, both: keys.both.key },
    config,
    databaseUrl,
    actor: (id, email = null) => ({ actorId: id, actorEmail: email, requestId: `test-${randomUUID()}` }),
    request,
    async json(method, path, o) {
      const res = await request(method, path, o);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, res };
    },
    async close() {
      await sql.end({ timeout: 2 }).catch(() => {});
      await journalSql.end({ timeout: 2 }).catch(() => {});
      await fenceSql.end({ timeout: 2 }).catch(() => {});
      engine.close();
      await engine.admin.deleteStore({ storeId: engine.storeId }).catch(() => {});
      await db.drop();
    },
  };
}

/** The Deps part of a context, for service-layer factories. */
export function depsOf(t: TestContext): Deps {
  return t.deps;
}

export interface Replica {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  decisions: DecisionCache;
  /** POST an AuthZEN evaluation with the decide key; returns the decision (throws on non-200). */
  decide(user: string, action: string, type: string, id: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A second instance of the service on the same database and OpenFGA store as
 * `t` (its own pools, engine client and decision cache), as another replica
 * in the same deployment would be.
 */
export async function createReplica(t: TestContext): Promise<Replica> {
  const sql = createDb({ url: t.databaseUrl, max: 5 });
  const journalSql = createDb({ url: t.databaseUrl, max: 2 });
  const fenceSql = createDb({ url: t.databaseUrl, max: 1 });
  const engine = Engine.fromConfig(t.config, { apiUrl: t.engine.opts.apiUrl });
  engine.pin(t.engine.storeId!, t.engine.modelId!);
  const decisions = buildDecisionCache({
    engine,
    size: t.config.DECISION_CACHE_SIZE,
    builtInModel: t.deps.managementEnabled,
    fenceSql,
  });
  const deps: AppDeps = { ...t.deps, sql, journalSql, engine, decisions };
  const app = createApp(deps);
  return {
    app,
    deps,
    decisions,
    async decide(user, action, type, id) {
      const res = await app.request("/access/v1/evaluation", {
        method: "POST",
        headers: { authorization: `Bearer ${t.keys.decide}`, "content-type": "application/json" },
        body: JSON.stringify({
          subject: { type: "user", id: user },
          action: { name: action },
          resource: { type, id },
        }),
      });
      const body = (await res.json()) as { decision?: boolean };
      if (res.status !== 200) throw new Error(`evaluation ${res.status}: ${JSON.stringify(body)}`);
      return body.decision === true;
    },
    async close() {
      engine.close();
      await Promise.all([sql, journalSql, fenceSql].map((s) => s.end({ timeout: 2 }).catch(() => {})));
    },
  };
}
