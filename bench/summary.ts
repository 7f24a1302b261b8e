import { ratio } from "./bench.js";
import type { LoadResult } from "./cannon.js";
import type { OverloadResult } from "./overload.js";
import type { BatchResult, SearchResult } from "./phases.js";
import type { ReplicasResult } from "./replicas.js";
import type { SingleResult } from "./single.js";
import type { StaleResult } from "./stale.js";

/**
 * The top-level `summary` of a results file: one number per target of issue
 * 12 (and issue 14 part 4). Null only where documented: a ratio whose
 * denominator had no 2xx answer, `hitRatio` without the sidecar's cache
 * metrics, CPU figures off Linux, `searchP99Ms` when no search completed.
 */
export interface Summary {
  /** 2xx/s of the cached replica A (warm) over OpenFGA's Check (target ≥ 3). */
  cachedOverOpenfga: number | null;
  /** …over the Hono hello world (target ≥ 0.3, aim 0.5). */
  cachedOverCeiling: number | null;
  /** 2xx/s of the cache-off sidecar over OpenFGA's Check (target ≥ 0.9). */
  uncachedOverOpenfga: number | null;
  /** Cache hits / (hits + misses) of replica A during the warm run (from its metrics). */
  hitRatio: number | null;
  /** Allows after a revoke answered 2xx (or after the expiry), both replicas, every path (target 0). */
  staleAllows: number;
  /** Stale-probe paths that could not be set up or revoked (not checked). */
  staleProbeFailedPaths: number;
  /** 200 answers disagreeing with the brute-force answer, every checked run (target 0). */
  mismatches: number;
  /** Batch decisions/s over replica A's cached single-call 2xx/s (target ≥ 10). */
  batchOverSingle: number | null;
  /** Batch items answered with an engine error (failed closed; target 0). */
  batchItemErrors: number;
  /** p99 (nearest rank) of every complete resource search, both subjects (target < 500). */
  searchP99Ms: number | null;
  /** Sidecar CPU µs per 2xx decision, cached run (the hot path with the default configuration). */
  sidecarCpuUsPerDecision: number | null;
  sidecarCpuUsPerDecisionCached: number | null;
  sidecarCpuUsPerDecisionUncached: number | null;
  /** Two cached replicas together, 2xx/s, and over replica A alone with all the connections. */
  replicasOkPerSecond: number;
  replicasOverSingle: number | null;
  /** 2xx/s at 200 connections over 2xx/s at 16, cache off (target ≥ 0.8). */
  overloadRatio: number | null;
  /** 503 share of the answers at 200 connections (target ≤ 0.1). */
  overload503Share: number | null;
}

export interface SummaryInput {
  single: SingleResult;
  replicas: ReplicasResult;
  batch: BatchResult;
  search: Record<string, SearchResult>;
  overload: OverloadResult;
  stale: StaleResult;
}

/** Nearest-rank percentile of `xs` (null when empty). */
export function percentile(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(r: SummaryInput): Summary {
  const s = r.single;
  const checked: LoadResult[] = [
    s.openfga,
    s.uncachedCold,
    s.uncached,
    s.cachedCold,
    s.cached,
    r.replicas.bCold,
    r.replicas.a.load,
    r.replicas.b.load,
    r.batch.batch,
    r.overload.base,
    r.overload.overload,
  ];
  return {
    cachedOverOpenfga: s.ratios.cachedOverOpenfga ?? null,
    cachedOverCeiling: s.ratios.cachedOverCeiling ?? null,
    uncachedOverOpenfga: s.ratios.uncachedOverOpenfga ?? null,
    hitRatio: s.cache.warm.hitRatio,
    staleAllows: r.stale.staleAllows,
    staleProbeFailedPaths: r.stale.failedPaths,
    mismatches: checked.reduce((a, x) => a + x.mismatches, 0),
    batchOverSingle: r.batch.ratioBatchOverSingle,
    batchItemErrors: r.batch.batch.itemErrors,
    searchP99Ms: percentile(
      Object.values(r.search).flatMap((x) => x.timesMs),
      99,
    ),
    sidecarCpuUsPerDecision: s.resources.cached.sidecarCpuUsPerDecision,
    sidecarCpuUsPerDecisionCached: s.resources.cached.sidecarCpuUsPerDecision,
    sidecarCpuUsPerDecisionUncached: s.resources.uncached.sidecarCpuUsPerDecision,
    replicasOkPerSecond: r.replicas.total.okPerSecond,
    replicasOverSingle: ratio(r.replicas.total.okPerSecond, s.cached.okPerSecond),
    overloadRatio: r.overload.ratio,
    overload503Share: r.overload.share503,
  };
}

/** The targets of issue 12 and issue 14 part 4, for the Markdown summary. */
export const TARGETS: { key: keyof Summary; label: string; met: (x: number) => boolean }[] = [
  { key: "cachedOverOpenfga", label: "≥ 3", met: (x) => x >= 3 },
  { key: "cachedOverCeiling", label: "≥ 0.3 (aim 0.5)", met: (x) => x >= 0.3 },
  { key: "uncachedOverOpenfga", label: "≥ 0.9", met: (x) => x >= 0.9 },
  { key: "staleAllows", label: "= 0", met: (x) => x === 0 },
  { key: "mismatches", label: "= 0", met: (x) => x === 0 },
  { key: "batchOverSingle", label: "≥ 10", met: (x) => x >= 10 },
  { key: "batchItemErrors", label: "= 0", met: (x) => x === 0 },
  { key: "searchP99Ms", label: "< 500", met: (x) => x < 500 },
  { key: "overloadRatio", label: "≥ 0.8", met: (x) => x >= 0.8 },
  { key: "overload503Share", label: "≤ 0.1", met: (x) => x <= 0.1 },
];
