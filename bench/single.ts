import { auth, type Bench, onePass, ratio, sidecarDecisions, warmS } from "./bench.js";
import { cursor, decisionCheck, fire, type LoadResult, type Shot } from "./cannon.js";
import { type CacheDelta, withCacheDelta } from "./metrics.js";
import { type ProcUsage, round, watchProc } from "./procs.js";
import type { Sidecar } from "./sidecar.js";

/** The same question straight to OpenFGA's Check API, with current_time as the sidecar sends it. */
function openfgaChecks(b: Bench): () => Shot {
  const parts = b.cases.map((c) => [
    `{"authorization_model_id":"${b.openfga.modelId}","tuple_key":${JSON.stringify({
      user: `user:${c.user}`,
      relation: c.action,
      object: `${c.resource.type}:${c.resource.id}`,
    })},"context":{"current_time":"`,
    `"}}`,
  ]);
  const checks = b.cases.map((c) => decisionCheck(c.expect, "allowed"));
  const next = cursor(b.stream);
  const path = `/stores/${b.openfga.storeId}/check`;
  return () => {
    const i = next();
    const [pre, post] = parts[i]!;
    return { path, body: `${pre}${new Date().toISOString()}${post}`, check: checks[i] };
  };
}

/** CPU and memory of the sidecar (and OpenFGA) during one run, and CPU per 2xx answer. */
export interface RunResources {
  sidecar: ProcUsage | null;
  openfga: ProcUsage | null;
  /** Sidecar CPU microseconds per 2xx answer (null off Linux or without answers). */
  sidecarCpuUsPerDecision: number | null;
}

async function watched(b: Bench, s: Sidecar, run: () => Promise<LoadResult>) {
  const side = watchProc(s.pid);
  const fga = b.openfga.pid ? watchProc(b.openfga.pid) : null;
  const load = await run();
  const sidecar = side.stop();
  const resources: RunResources = {
    sidecar,
    openfga: fga?.stop() ?? null,
    sidecarCpuUsPerDecision: sidecar && load.ok > 0 ? round((sidecar.cpuS * 1e6) / load.ok, 0) : null,
  };
  return { load, resources };
}

export interface SingleResult {
  ceiling: LoadResult;
  openfga: LoadResult;
  /** The sidecar with DECISION_CACHE_SIZE=0: every decision asks OpenFGA. */
  uncached: LoadResult;
  /**
   * The cache-off sidecar's first pass over every distinct question: its
   * warm-up, as `cachedCold` is replica A's. A just-started Node process
   * spends two to three times the CPU per decision of a warm one until V8 has
   * compiled the hot path; a running service is warm.
   */
  uncachedCold: LoadResult;
  /** Replica A's first pass over every distinct question (cold cache; it is the warm-up of `cached`). */
  cachedCold: LoadResult;
  /** Replica A after that pass, the zipfian stream as for the other targets. */
  cached: LoadResult;
  /** Replica A's cache counters during `cachedCold` and during `cached` (null ratio without metrics). */
  cache: { cold: CacheDelta; warm: CacheDelta };
  ratios: Record<string, number | null>;
  resources: { uncached: RunResources; cached: RunResources };
}

/** Phase 2 (and 6): the same stream, connections and duration against every target. */
export async function singleDecisions(b: Bench): Promise<SingleResult> {
  const { connections, durationS } = b.opts;
  const plain = async (name: string, url: string, step: () => Shot, headers = {}) => {
    await fire({ url, connections, durationS: warmS(b), headers, steps: [step] });
    b.log(`  ${name}…`);
    return fire({ url, connections, durationS, headers, steps: [step] });
  };
  const ceiling = await plain("hono hello world", b.hello.url, sidecarDecisions(b, false));
  const openfga = await plain("openfga direct", b.openfga.url, openfgaChecks(b));
  /**
   * Warm-up, then the measured stream with the process watched and the cache
   * counters read around it (the warm-up is in neither window).
   */
  const measured = async (sc: Sidecar) => {
    const base = { url: sc.url, connections, headers: auth(b), steps: [sidecarDecisions(b)] };
    await fire({ ...base, durationS: warmS(b) });
    return withCacheDelta(sc, b.apiKey, () => watched(b, sc, () => fire({ ...base, durationS })));
  };
  b.log(`  sidecar, cache off: first pass over ${b.cases.length} questions…`);
  const uncachedCold = await onePass(b, b.uncached);
  b.log("  sidecar, cache off…");
  const [uncached] = await measured(b.uncached);
  b.log(`  sidecar, cache on: first pass over ${b.cases.length} questions…`);
  const [cachedCold, cold] = await withCacheDelta(b.sidecar, b.apiKey, () => onePass(b, b.sidecar));
  b.log("  sidecar, cache on, warm…");
  const [cached, warm] = await measured(b.sidecar);
  return {
    ceiling,
    openfga,
    uncached: uncached.load,
    uncachedCold,
    cachedCold,
    cached: cached.load,
    cache: { cold, warm },
    ratios: {
      // Rates of 2xx answers: a 503 (engine timeout or overload, fail closed) is not a decision.
      cachedOverOpenfga: ratio(cached.load.okPerSecond, openfga.okPerSecond),
      cachedOverCeiling: ratio(cached.load.okPerSecond, ceiling.okPerSecond),
      uncachedOverOpenfga: ratio(uncached.load.okPerSecond, openfga.okPerSecond),
      uncachedOverCeiling: ratio(uncached.load.okPerSecond, ceiling.okPerSecond),
      coldOverOpenfga: ratio(cachedCold.okPerSecond, openfga.okPerSecond),
      uncachedColdOverOpenfga: ratio(uncachedCold.okPerSecond, openfga.okPerSecond),
      p50UncachedOverOpenfga: ratio(uncached.load.latencyMs.p50, openfga.latencyMs.p50),
      p99UncachedOverOpenfga: ratio(uncached.load.latencyMs.p99, openfga.latencyMs.p99),
      p50CachedOverOpenfga: ratio(cached.load.latencyMs.p50, openfga.latencyMs.p50),
      p99CachedOverOpenfga: ratio(cached.load.latencyMs.p99, openfga.latencyMs.p99),
    },
    resources: { uncached: uncached.resources, cached: cached.resources },
  };
}
