import { auth, type Bench, onePass, sidecarDecisions, warmS } from "./bench.js";
import { fire, type LoadResult } from "./cannon.js";
import { type CacheDelta, withCacheDelta } from "./metrics.js";
import { round } from "./procs.js";
import type { Sidecar } from "./sidecar.js";

export interface ReplicaRun {
  name: string;
  load: LoadResult;
  cache: CacheDelta;
}

export interface ReplicasResult {
  /** Replica B's first pass over every question (its warm-up; A is warm from the single phase). */
  bCold: LoadResult;
  connectionsPerReplica: [number, number];
  a: ReplicaRun;
  b: ReplicaRun;
  total: {
    connections: number;
    requestsPerSecond: number;
    okPerSecond: number;
    non2xx: number;
    errors: number;
    mismatches: number;
    checked: number;
  };
}

/**
 * Two cached replicas on one database and OpenFGA store, each sent half the
 * connections of the same zipfian stream at the same time (one autocannon per
 * replica, in the bench process).
 */
export async function twoReplicas(b: Bench): Promise<ReplicasResult> {
  b.log(`  replica B: first pass over ${b.cases.length} questions…`);
  const bCold = await onePass(b, b.replicaB);
  const half = Math.max(1, Math.ceil(b.opts.connections / 2));
  const other = Math.max(1, b.opts.connections - half);
  const run = (s: Sidecar, connections: number, durationS: number) =>
    fire({ url: s.url, connections, durationS, headers: auth(b), steps: [sidecarDecisions(b)] });
  await Promise.all([run(b.sidecar, half, warmS(b)), run(b.replicaB, other, warmS(b))]);
  b.log("  replicas A + B…");
  const measure = (s: Sidecar, connections: number) =>
    withCacheDelta(s, b.apiKey, () => run(s, connections, b.opts.durationS)).then(
      ([load, cache]): ReplicaRun => ({ name: s.name, load, cache }),
    );
  const [a, rb] = await Promise.all([measure(b.sidecar, half), measure(b.replicaB, other)]);
  const sum = (f: (r: LoadResult) => number) => f(a.load) + f(rb.load);
  return {
    bCold,
    connectionsPerReplica: [half, other],
    a,
    b: rb,
    total: {
      connections: half + other,
      requestsPerSecond: round(sum((r) => r.requestsPerSecond)),
      okPerSecond: round(sum((r) => r.okPerSecond)),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      mismatches: sum((r) => r.mismatches),
      checked: sum((r) => r.checked),
    },
  };
}
