import type { BenchOptions } from "./args.js";
import { cursor, decisionCheck, fire, type LoadResult, type Shot } from "./cannon.js";
import { type Case, caseBody } from "./cases.js";
import type { World } from "./oracle.js";
import { type Child, round } from "./procs.js";
import type { Sidecar } from "./sidecar.js";

/** Everything the measurement phases share. */
export interface Bench {
  opts: BenchOptions;
  cases: Case[];
  stream: Uint32Array;
  world: World;
  /** Replica A: decision cache on (its default size); the sidecar of the batch, search and workflow phases. */
  sidecar: Sidecar;
  /** Replica B: cache on, same database and OpenFGA store as A. */
  replicaB: Sidecar;
  /** DECISION_CACHE_SIZE=0, same database and store: the uncached and overload figures. */
  uncached: Sidecar;
  hello: Child;
  openfga: { url: string; storeId: string; modelId: string; pid?: number };
  apiKey: string;
  log: (m: string) => void;
}

export const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a !== null && a !== undefined && b !== null && b !== undefined && b > 0 ? round(a / b, 3) : null;

export const auth = (b: Bench) => ({ authorization: `Bearer ${b.apiKey}` });

/** Seconds of warm-up before a measured run. */
export const warmS = (b: Bench) => Math.max(0.5, Math.min(3, b.opts.durationS / 5));

/** Decision requests to a sidecar, one body per request from `order` (the zipfian stream by default). */
export function sidecarDecisions(b: Bench, checked = true, order: Uint32Array = b.stream): () => Shot {
  const bodies = b.cases.map((c) => JSON.stringify(caseBody(c)));
  const checks = b.cases.map((c) => decisionCheck(c.expect, "decision"));
  const next = cursor(order);
  return () => {
    const i = next();
    return { path: "/access/v1/evaluation", body: bodies[i], check: checked ? checks[i] : undefined };
  };
}

/** The zipfian stream for `durationS` at `connections` (after a short warm-up) against one sidecar. */
export async function streamRun(b: Bench, s: Sidecar, connections = b.opts.connections): Promise<LoadResult> {
  const step = sidecarDecisions(b);
  const base = { url: s.url, connections, headers: auth(b), steps: [step] };
  await fire({ ...base, durationS: warmS(b) });
  return fire({ ...base, durationS: b.opts.durationS });
}

/**
 * Every distinct question once, in order: the cold first pass of a cache (and
 * its warm-up). Bounded by count and, at worst, by 20 phase durations.
 */
export function onePass(b: Bench, s: Sidecar): Promise<LoadResult> {
  const order = Uint32Array.from({ length: b.cases.length }, (_, i) => i);
  return fire({
    url: s.url,
    connections: b.opts.connections,
    durationS: b.opts.durationS,
    amount: b.cases.length,
    maxS: Math.max(60, b.opts.durationS * 20),
    headers: auth(b),
    steps: [sidecarDecisions(b, true, order)],
  });
}
