import autocannon from "autocannon";
import { round } from "./procs.js";

/** What each load phase reports. Latencies in ms; rates per second of wall-clock time. */
export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  requestsPerSecond: number;
  /** 2xx answers, and per second: the rate of answered decisions (503s and socket errors excluded). */
  ok: number;
  okPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** The first non-2xx answer, to tell why (status and the start of the body). */
  firstError?: string;
  /** 200 answers whose decision(s) differ from the brute-force answer. */
  mismatches: number;
  /** Decisions checked against the brute-force answer, and how many were allows. */
  checked: number;
  allows: number;
}

export interface Shot {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** Inspect the answer (status, body, connection context); returns [checked, allows, mismatches] to add. */
  check?: (status: number, body: string, ctx: Record<string, unknown>) => [number, number, number];
}

/**
 * Run autocannon against `url` for `durationS` seconds with `connections`
 * connections; `next()` gives each request (a body picked per request from a
 * precomputed list). With `amount`, it sends that many requests instead,
 * stopped anyway after `maxS` seconds: every run is bounded in time.
 */
export async function fire(o: {
  url: string;
  connections: number;
  durationS: number;
  /** Send exactly this many requests (e.g. one pass over the questions) instead of running for durationS. */
  amount?: number;
  /** Upper bound in seconds for an `amount` run (default 600). */
  maxS?: number;
  headers?: Record<string, string>;
  /** One request sequence per connection loop (e.g. [create, accept]); each step picks its own body. */
  /** A step returning null restarts the connection's sequence (e.g. no token to accept). */
  steps: ((ctx: Record<string, unknown>) => Shot | null)[];
}): Promise<LoadResult> {
  const tally = { checked: 0, allows: 0, mismatches: 0 };
  let firstError: string | undefined;
  const headers = { "content-type": "application/json", ...o.headers };
  const connections = o.amount ? Math.max(1, Math.min(o.connections, o.amount)) : o.connections;
  const instance = autocannon({
    url: o.url,
    connections,
    ...(o.amount ? { amount: o.amount } : { duration: o.durationS }),
    timeout: 10,
    requests: o.steps.map((step) => ({
      method: "POST",
      setupRequest: (req, context) => {
        const s = step(context);
        context.check = s?.check;
        if (!s) return null;
        return {
          ...req,
          method: s.method ?? "POST",
          path: s.path,
          body: s.body,
          headers: { ...headers, ...s.headers },
        };
      },
      onResponse: (status, body, context) => {
        if ((status < 200 || status > 299) && firstError === undefined)
          firstError = `${status} ${body.slice(0, 300)}`;
        const check = context.check as Shot["check"];
        if (!check) return;
        const [c, a, m] = check(status, body, context);
        tally.checked += c;
        tally.allows += a;
        tally.mismatches += m;
      },
    })),
  });
  const guard = o.amount ? setTimeout(() => instance.stop(), (o.maxS ?? 600) * 1000) : undefined;
  const result = await instance;
  clearTimeout(guard);
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, Number(v.count)]),
  );
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const ok = Object.entries(statusCodes)
    .filter(([k]) => k.startsWith("2"))
    .reduce((a, [, v]) => a + v, 0);
  return {
    connections,
    durationS: round(result.duration, 2),
    requests: total,
    requestsPerSecond: round(total / result.duration),
    ok,
    okPerSecond: round(ok / result.duration),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: round(result.latency.mean, 2),
    },
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes,
    firstError,
    ...tally,
  };
}

/** A check for one decision: `"decision":true` / `"allowed":true` against the expected answer. */
export function decisionCheck(expect: boolean, key: "decision" | "allowed") {
  const yes = `"${key}":true`;
  return (status: number, body: string): [number, number, number] => {
    if (status !== 200) return [0, 0, 0];
    const got = body.includes(yes);
    return [1, got ? 1 : 0, got === expect ? 0 : 1];
  };
}

/** A shared cursor over a precomputed stream: every request takes the next index. */
export function cursor(stream: Uint32Array): () => number {
  let i = 0;
  return () => {
    const v = stream[i]!;
    i = (i + 1) % stream.length;
    return v;
  };
}
