import { auth, type Bench, ratio, sidecarDecisions, warmS } from "./bench.js";
import { fire, type LoadResult } from "./cannon.js";
import { round } from "./procs.js";

export interface OverloadResult {
  /** The sidecar measured: the uncached one, so that every decision goes through the engine limiter. */
  target: string;
  base: LoadResult;
  overload: LoadResult;
  /** 2xx/s at `overload.connections` over 2xx/s at `base.connections` (target ≥ 0.8). */
  ratio: number | null;
  /** 503 answers / all answers at `overload.connections` (target ≤ 0.1). */
  share503: number | null;
}

/**
 * Issue 14 part 4: the zipfian stream at 16 connections, then at
 * `--overload-connections` (200), same duration, against the cache-off
 * sidecar. Overload should shed (503 + Retry-After) without losing goodput.
 */
export async function overload(b: Bench): Promise<OverloadResult> {
  const s = b.uncached;
  const run = (connections: number, durationS: number) =>
    fire({ url: s.url, connections, durationS, headers: auth(b), steps: [sidecarDecisions(b)] });
  await run(16, warmS(b));
  b.log("  16 connections…");
  const base = await run(16, b.opts.durationS);
  b.log(`  ${b.opts.overloadConnections} connections…`);
  const over = await run(b.opts.overloadConnections, b.opts.durationS);
  const n503 = over.statusCodes["503"] ?? 0;
  return {
    target: s.name,
    base,
    overload: over,
    ratio: ratio(over.okPerSecond, base.okPerSecond),
    share503: over.requests > 0 ? round(n503 / over.requests, 4) : null,
  };
}
