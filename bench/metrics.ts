import { round } from "./procs.js";
import type { Sidecar } from "./sidecar.js";

/** The decision cache counters of one sidecar (Prometheus counters, summed over labels). */
export interface CacheCounters {
  hits: number;
  misses: number;
  revisionReads: number;
  /** Which URL answered. */
  source: string;
}

const NAMES = {
  hits: "authz_decision_cache_hits_total",
  misses: "authz_decision_cache_misses_total",
  revisionReads: "authz_decision_revision_reads_total",
} as const;

/** Sum of every sample of `name` (any labels) in a Prometheus text exposition; null when absent. */
export function counter(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(rest.slice(rest.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/**
 * Read the cache counters from the sidecar's metrics listener (METRICS_PORT),
 * else from /metrics on its API port. Null when neither serves them (metrics
 * off, or a sidecar without a decision cache).
 */
export async function readCacheCounters(s: Sidecar, apiKey: string): Promise<CacheCounters | null> {
  for (const url of s.metricsUrls) {
    try {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${apiKey}` },
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) continue;
      const text = await res.text();
      const hits = counter(text, NAMES.hits);
      const misses = counter(text, NAMES.misses);
      if (hits === null || misses === null) continue;
      return { hits, misses, revisionReads: counter(text, NAMES.revisionReads) ?? 0, source: url };
    } catch {
      // not listening there: try the next one
    }
  }
  return null;
}

/** What the cache did between two readings. */
export interface CacheDelta {
  hits: number;
  misses: number;
  revisionReads: number;
  /** hits / (hits + misses); null without counters or without any decision. */
  hitRatio: number | null;
  source: string | null;
}

export function cacheDelta(before: CacheCounters | null, after: CacheCounters | null): CacheDelta {
  if (!before || !after)
    return { hits: 0, misses: 0, revisionReads: 0, hitRatio: null, source: after?.source ?? null };
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return {
    hits,
    misses,
    revisionReads: after.revisionReads - before.revisionReads,
    hitRatio: hits + misses > 0 ? round(hits / (hits + misses), 4) : null,
    source: after.source,
  };
}

/** Run `fn` and report what the sidecar's cache did meanwhile. */
export async function withCacheDelta<T>(
  s: Sidecar,
  apiKey: string,
  fn: () => Promise<T>,
): Promise<[T, CacheDelta]> {
  const before = await readCacheCounters(s, apiKey);
  const out = await fn();
  return [out, cacheDelta(before, await readCacheCounters(s, apiKey))];
}
