import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { BenchOptions } from "./args.js";
import { type Child, startNode } from "./procs.js";
import { type Sidecar, startSidecar } from "./sidecar.js";
import { BENCH_SYSADMIN } from "./stale-fixture.js";

/** The processes the measurements talk to, besides OpenFGA. */
export interface Fleet {
  replicaA: Sidecar;
  replicaB: Sidecar;
  uncached: Sidecar;
  hello: Child;
  /** Start-up of replica A until /readyz answered 200, alone on the machine. */
  sidecarStartMs: number;
}

export interface FleetSpec {
  opts: BenchOptions;
  databaseUrl: string;
  openfgaUrl: string;
  storeId: string;
  modelId: string;
  /** sha256 hex of the bench's API key (scopes decide + manage). */
  keyHash: string;
  logLevel: string;
  log: (m: string) => void;
  /** Where every started process (and temporary folder) registers its stop. */
  cleanups: (() => Promise<void>)[];
}

/** The value of a settled promise, or its rejection thrown. */
function value<T>(r: PromiseSettledResult<T>): T {
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

/**
 * Three sidecars (`node dist/main.js`) on one database and OpenFGA store —
 * replicas A and B with the decision cache at its default size, one with
 * DECISION_CACHE_SIZE=0 — and the Hono ceiling. A starts alone (its start-up
 * is a figure); the others start together after it.
 */
export async function startFleet(f: FleetSpec): Promise<Fleet> {
  const env = async (): Promise<Record<string, string>> => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "authz-bench-"));
    f.cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    return {
      DATABASE_URL: f.databaseUrl,
      OPENFGA_API_URL: f.openfgaUrl,
      OPENFGA_STORE_ID: f.storeId,
      OPENFGA_MODEL_ID: f.modelId,
      API_KEYS: `bench:decide+manage:${f.keyHash}`,
      BOOTSTRAP_SYSADMINS: BENCH_SYSADMIN,
      LOG_LEVEL: f.logLevel,
      RECONCILE_INTERVAL_S: "0",
      DATA_DIR: dataDir,
      NODE_ENV: "production",
      ...(f.opts.engineTimeoutMs ? { OPENFGA_TIMEOUT_MS: String(f.opts.engineTimeoutMs) } : {}),
    };
  };
  const timeoutMs = f.opts.smoke ? 120_000 : 1_800_000;
  const sidecar = async (name: string, cacheSize?: number): Promise<Sidecar> => {
    f.log(`starting sidecar ${name} (node dist/main.js)…`);
    const s = await startSidecar({ name, env: await env(), cacheSize, timeoutMs });
    f.cleanups.push(s.stop);
    return s;
  };
  const s0 = performance.now();
  const replicaA = await sidecar("replica A (cache on)");
  const sidecarStartMs = Math.round(performance.now() - s0);
  // Started together; every one that started is stopped at the end even if another failed.
  const started = await Promise.allSettled([
    sidecar("replica B (cache on)"),
    sidecar("cache off", 0),
    startNode("bench/hello.ts", {}, "/healthz", 60_000).then((h) => {
      f.cleanups.push(h.stop);
      return h;
    }),
  ]);
  return {
    replicaA,
    replicaB: value(started[0]),
    uncached: value(started[1]),
    hello: value(started[2]),
    sidecarStartMs,
  };
}
