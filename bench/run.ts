import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { testConfig } from "../src/config.js";
import { migrate } from "../src/db/migrate.js";
import { createDb } from "../src/db/pool.js";
import { bootstrapEngine, loadModelFile } from "../src/engine/bootstrap.js";
import { Engine } from "../src/engine/client.js";
import { generateApiKey } from "../src/http/auth.js";
import type { Deps } from "../src/kernel/deps.js";
import { parseBenchArgs } from "./args.js";
import type { Bench } from "./bench.js";
import { buildCases, zipfStream } from "./cases.js";
import { generateDataset } from "./dataset.js";
import { startFleet } from "./fleet.js";
import { startBenchInfra } from "./infra.js";
import { loadDataset } from "./load-data.js";
import { World } from "./oracle.js";
import { overload } from "./overload.js";
import { batchDecisions, search } from "./phases.js";
import { twoReplicas } from "./replicas.js";
import { type BenchResults, markdown } from "./report.js";
import { buildDist, distUpToDate } from "./sidecar.js";
import { singleDecisions } from "./single.js";
import { staleProbe } from "./stale.js";
import { summarize } from "./summary.js";
import { workflows } from "./workflow.js";

/**
 * `npm run bench [-- flags]`: generate and load a dataset, then measure
 * decisions (sidecar with and without its decision cache, two replicas, vs
 * OpenFGA vs a Hono hello world), batches, searches, overload, workflows,
 * the sidecar's resources and the stale-allow probe, all on this machine in
 * one run. Writes bench/results/<timestamp>.json and prints a Markdown
 * summary. Exits 2 when the probe saw a stale allow or could not check a path.
 */

const t0 = Date.now();
const log = (m: string) => process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);

async function main(): Promise<number> {
  const opts = parseBenchArgs(process.argv.slice(2));
  // Hard bound on the whole run: it always stops by itself.
  const budgetMs = opts.smoke ? 5 * 60_000 : 4 * 3600_000;
  const watchdog = setTimeout(() => {
    log(`run exceeded ${budgetMs / 60_000} min: giving up`);
    void cleanup().finally(() => process.exit(3));
  }, budgetMs);
  watchdog.unref();

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse())
      await c().catch((e) => log(`cleanup: ${(e as Error).message}`));
  };
  const startedAt = new Date();
  try {
    log(`options: ${JSON.stringify(opts)}`);
    // Production runs built JavaScript: compile dist/ (unless it is newer than src/) while the dataset loads.
    const build = opts.noBuild
      ? "skipped (--no-build)"
      : distUpToDate()
        ? "dist/ up to date"
        : "npm run build";
    const built = build === "npm run build" ? buildDist() : Promise.resolve(0);
    built.catch(() => {});
    const infra = await startBenchInfra(process.env, log);
    cleanups.push(infra.stop);
    log(`OpenFGA ${infra.source.openfga}; PostgreSQL ${infra.source.database}`);

    const sql = createDb({ url: infra.databaseUrl, max: opts.loadParallel + 2 });
    cleanups.push(() => sql.end({ timeout: 2 }));
    await migrate(sql);
    const engine = new Engine({ apiUrl: infra.openfgaUrl, timeoutMs: 30_000, searchTimeoutMs: 60_000 });
    const boot = await bootstrapEngine(engine, {
      storeName: `bench-${randomUUID()}`,
      model: await loadModelFile(),
    });
    cleanups.push(async () => void (await engine.admin.deleteStore({ storeId: boot.storeId })));
    const deps: Deps = {
      config: testConfig({ LOG_LEVEL: "silent" }),
      log: pino({ level: "silent" }),
      sql,
      engine,
      managementEnabled: true,
      now: () => new Date(),
    };

    log("generating and loading the dataset…");
    const spec = generateDataset(opts);
    const loaded = await loadDataset(deps, spec, {
      parallel: opts.loadParallel,
      batch: opts.loadBatch,
      serviceSample: opts.serviceSample,
      log,
    });
    const [counts] = await sql`select
      (select count(*)::int from organizations) as organizations,
      (select count(*)::int from users) as users,
      (select count(*)::int from portfolios) as portfolios,
      (select count(*)::int from parks) as parks,
      (select count(*)::int from cooperations) as cooperations,
      (select count(*)::int from cooperations where state = 'active') as "activeCooperations",
      (select count(*)::int from shares) as shares,
      (select count(*)::int from grants where cooperation_id is null) as grants,
      (select count(*)::int from grants where cooperation_id is not null) as delegations,
      (select count(*)::int from audit_events) as "auditEvents"`;
    log(`loaded ${loaded.tuples} tuples in ${loaded.ms} ms`);

    const world = await World.read(sql);
    const now = new Date();
    const cases = buildCases(world, opts.cases, opts.seed, now);
    const stream = zipfStream(cases.length, Math.max(10_000, cases.length * 20), opts.zipfS, opts.seed);
    const caseMix: Record<string, { count: number; allows: number }> = {};
    for (const c of cases) {
      const m = caseMix[c.kind] ?? { count: 0, allows: 0 };
      caseMix[c.kind] = m;
      m.count++;
      if (c.expect) m.allows++;
    }

    const key = generateApiKey();
    const sidecarLogLevel = process.env.BENCH_SIDECAR_LOG_LEVEL ?? "info";
    const buildMs = await built;
    log(buildMs ? `built dist/ in ${buildMs} ms` : `build: ${build}`);
    const fleet = await startFleet({
      opts,
      databaseUrl: infra.databaseUrl,
      openfgaUrl: infra.openfgaUrl,
      storeId: boot.storeId,
      modelId: boot.modelId,
      keyHash: key.hash,
      logLevel: sidecarLogLevel,
      log,
      cleanups,
    });
    const { sidecarStartMs } = fleet;

    const b: Bench = {
      opts,
      cases,
      stream,
      world,
      sidecar: fleet.replicaA,
      replicaB: fleet.replicaB,
      uncached: fleet.uncached,
      hello: fleet.hello,
      openfga: { url: infra.openfgaUrl, storeId: boot.storeId, modelId: boot.modelId, pid: infra.openfgaPid },
      apiKey: key.key,
      log,
    };
    log("single decisions…");
    const single = await singleDecisions(b);
    log("two replicas…");
    const replicas = await twoReplicas(b);
    log("batch decisions…");
    const batch = await batchDecisions(b, single.cached);
    log("searches…");
    const partnerOrg = mostIncoming(world);
    const plainOrg = world.orgs.find((o) => o !== partnerOrg && !isPartner(world, o)) ?? world.orgs[0]!;
    const partnerAdmin = await search(b, adminOf(world, partnerOrg));
    const organizationAdmin = await search(b, adminOf(world, plainOrg));
    // Every phase above reads only; the ones below write (which invalidates every cache).
    log("overload…");
    const overloaded = await overload(b);
    log("workflows…");
    const workflow = await workflows(b);
    log("stale-allow probe…");
    const stale = await staleProbe(b);
    const searches = { partnerAdmin, organizationAdmin };

    const results: BenchResults = {
      meta: {
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        smoke: opts.smoke,
        options: opts,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        totalMemMb: Math.round(os.totalmem() / 2 ** 20),
        node: process.version,
        loadGenerator: "autocannon (in the bench process)",
        sidecarLogLevel,
        sidecarCommand: "node dist/main.js",
        sidecars: [fleet.replicaA, fleet.replicaB, fleet.uncached].map((s) => ({
          name: s.name,
          decisionCacheSize: s.cacheSize ?? "default",
        })),
        build: { how: build, ms: buildMs },
        infra: infra.source,
      },
      dataset: {
        counts,
        loadMs: loaded.ms,
        loadPhases: loaded.phases,
        servicePath: loaded.servicePath,
        tuples: loaded.tuples,
        tuplesPerSecond: Math.round(loaded.tuples / (loaded.ms / 1000)),
        sidecarStartMs,
        cases: cases.length,
        caseMix,
        streamLength: stream.length,
      },
      summary: summarize({ single, replicas, batch, search: searches, overload: overloaded, stale }),
      single,
      replicas,
      batch,
      search: searches,
      overload: overloaded,
      stale,
      workflow,
      resources: single.resources,
    };
    await mkdir(opts.outDir, { recursive: true });
    const file = path.join(
      opts.outDir,
      `${startedAt
        .toISOString()
        .replaceAll(":", "-")
        .replace(/\.\d+Z$/, "Z")}${opts.smoke ? "-smoke" : ""}.json`,
    );
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\n${markdown(results)}\nresults: ${file}\n`);
    // Correctness, not timing: a stale allow (or a path the probe could not check) fails the run.
    if (stale.staleAllows > 0 || stale.failedPaths > 0) {
      log(`stale-allow probe: ${stale.staleAllows} stale allows, ${stale.failedPaths} paths not checked`);
      return 2;
    }
    return 0;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

function adminOf(w: World, org: string): string {
  return w.orgUsers.get(org)!.find((u) => w.members.get(u)!.role === "admin")!;
}
function isPartner(w: World, org: string): boolean {
  return [...w.coops.values()].some((c) => c.partner === org && c.state === "active");
}
/** The organization that receives the most active cooperations. */
function mostIncoming(w: World): string {
  const n = new Map<string, number>();
  for (const c of w.coops.values())
    if (c.partner && c.state === "active") n.set(c.partner, (n.get(c.partner) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? w.orgs[0]!;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
