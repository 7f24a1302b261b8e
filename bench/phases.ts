import { auth, type Bench, ratio, warmS } from "./bench.js";
import { cursor, fire, type LoadResult } from "./cannon.js";
import { caseBody } from "./cases.js";
import { round } from "./procs.js";

export interface BatchResult {
  batchSize: number;
  /** decisionsPerSecond counts items answered without an engine error; itemErrors the others. */
  batch: LoadResult & { decisionsPerSecond: number; itemErrors: number; firstMismatch?: string };
  single: { decisionsPerSecond: number; source: string };
  ratioBatchOverSingle: number | null;
}

/**
 * Phase 3: /access/v1/evaluations with `batchSize` items per call against
 * replica A (cache on, warm), vs its single calls (same connections).
 */
export async function batchDecisions(b: Bench, single: LoadResult): Promise<BatchResult> {
  const { connections, durationS, batchSize } = b.opts;
  const next = cursor(b.stream);
  let firstMismatch: string | undefined;
  let itemErrors = 0;
  let itemsAnswered = 0;
  const step = () => {
    const idx = Array.from({ length: batchSize }, next);
    const body = JSON.stringify({ evaluations: idx.map((i) => caseBody(b.cases[i]!)) });
    const check = (status: number, text: string): [number, number, number] => {
      if (status !== 200) return [0, 0, 0];
      const got = (
        JSON.parse(text) as { evaluations: { decision: boolean; context?: { error?: unknown } }[] }
      ).evaluations;
      let allows = 0;
      let checked = 0;
      let bad = got.length === idx.length ? 0 : idx.length;
      got.forEach((d, k) => {
        // An item the engine could not answer is a deny carrying context.error (fail closed): not a decision.
        if (d.context?.error) {
          itemErrors++;
          firstMismatch ??= `item error: ${JSON.stringify(d)}`;
          return;
        }
        checked++;
        if (d.decision) allows++;
        if (d.decision !== b.cases[idx[k]!]!.expect) {
          bad++;
          firstMismatch ??= `${JSON.stringify(caseBody(b.cases[idx[k]!]!))} → ${JSON.stringify(d)}`;
        }
      });
      itemsAnswered += checked;
      return [checked, allows, bad];
    };
    return { path: "/access/v1/evaluations", body, check };
  };
  await fire({ url: b.sidecar.url, connections, durationS: warmS(b), headers: auth(b), steps: [step] });
  const r = await fire({ url: b.sidecar.url, connections, durationS, headers: auth(b), steps: [step] });
  const dps = round(itemsAnswered / r.durationS);
  return {
    batchSize,
    batch: { ...r, decisionsPerSecond: dps, itemErrors, firstMismatch },
    single: {
      decisionsPerSecond: single.okPerSecond,
      source: "cached single-decision run of replica A (2xx/s)",
    },
    ratioBatchOverSingle: ratio(dps, single.okPerSecond),
  };
}

export interface SearchResult {
  subject: string;
  organizationId: string;
  action: string;
  iterations: number;
  pages: number;
  latencyMs: { p50: number; max: number; min: number };
  /** Every timed (complete, 200) search, ms. */
  timesMs: number[];
  count: number;
  expected: number;
  missing: number;
  extra: number;
  complete: boolean;
  error?: string;
}

/** Phase 4: resource search over the whole dataset, every page, checked against the brute-force set. */
export async function search(b: Bench, subject: string, action = "can_view"): Promise<SearchResult> {
  const expected = b.world.searchParks(subject, action, new Date());
  const times: number[] = [];
  let got = new Set<string>();
  let pages = 0;
  let error: string | undefined;
  const deadline = Date.now() + Math.max(10_000, b.opts.durationS * 3000);
  for (let it = 0; it < b.opts.searchIterations && Date.now() < deadline && !error; it++) {
    const found = new Set<string>();
    let token = "";
    pages = 0;
    const t0 = performance.now();
    do {
      const res = await fetch(`${b.sidecar.url}/access/v1/search/resource`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth(b) },
        body: JSON.stringify({
          subject: { type: "user", id: subject },
          action: { name: action },
          resource: { type: "park" },
          page: token ? { token, limit: 1000 } : { limit: 1000 },
        }),
        signal: AbortSignal.timeout(60_000),
      }).catch((e: Error) => e);
      if (res instanceof Error) {
        error = `request failed: ${res.message}`;
        break;
      }
      const body = (await res.json().catch(() => ({}))) as {
        results?: { id: string }[];
        page?: { next_token?: string };
        code?: string;
      };
      if (res.status !== 200) {
        error = `HTTP ${res.status} ${body.code ?? ""}`;
        break;
      }
      for (const r of body.results ?? []) found.add(r.id);
      token = body.page?.next_token ?? "";
      pages++;
    } while (token && pages < 1000);
    if (!error) times.push(performance.now() - t0);
    got = found;
  }
  const missing = [...expected].filter((x) => !got.has(x)).length;
  const extra = [...got].filter((x) => !expected.has(x)).length;
  const sorted = [...times].sort((a, b) => a - b);
  return {
    subject,
    organizationId: b.world.members.get(subject)!.org,
    action,
    iterations: times.length,
    pages,
    latencyMs: {
      p50: round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
      min: round(sorted[0] ?? Number.NaN),
      max: round(sorted.at(-1) ?? Number.NaN),
    },
    timesMs: sorted.map((t) => round(t)),
    count: got.size,
    expected: expected.size,
    missing,
    extra,
    complete: !error && missing === 0 && extra === 0,
    error,
  };
}
