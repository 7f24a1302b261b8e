import type { BenchOptions } from "./args.js";
import { cursor, decisionCheck, fire, type LoadResult } from "./cannon.js";
import { type Case, caseBody } from "./cases.js";
import type { World } from "./oracle.js";
import { type Child, type ProcUsage, round, watchProc } from "./procs.js";

/** Everything the measurement phases share. */
export interface Bench {
  opts: BenchOptions;
  cases: Case[];
  stream: Uint32Array;
  world: World;
  sidecar: Child;
  hello: Child;
  openfga: { url: string; storeId: string; modelId: string; pid?: number };
  apiKey: string;
  log: (m: string) => void;
}

const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 3) : null);

/** Decision requests to the sidecar, one body per request from the zipfian stream. */
function sidecarDecisions(b: Bench, checked = true) {
  const bodies = b.cases.map((c) => JSON.stringify(caseBody(c)));
  const checks = b.cases.map((c) => decisionCheck(c.expect, "decision"));
  const next = cursor(b.stream);
  return () => {
    const i = next();
    return { path: "/access/v1/evaluation", body: bodies[i], check: checked ? checks[i] : undefined };
  };
}

/** The same question straight to OpenFGA's Check API, with current_time as the sidecar sends it. */
function openfgaChecks(b: Bench) {
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

const auth = (b: Bench) => ({ authorization: `Bearer ${b.apiKey}` });
const warmS = (b: Bench) => Math.max(0.5, Math.min(3, b.opts.durationS / 5));

export interface SingleResult {
  ceiling: LoadResult;
  openfga: LoadResult;
  sidecar: LoadResult;
  ratios: Record<string, number | null>;
  resources: { sidecar: ProcUsage | null; openfga: ProcUsage | null };
}

/** Phase 2 (and 6): the same stream, connections and duration against the three targets. */
export async function singleDecisions(b: Bench): Promise<SingleResult> {
  const { connections, durationS } = b.opts;
  const run = async (
    name: string,
    url: string,
    step: () => ReturnType<ReturnType<typeof sidecarDecisions>>,
    headers = {},
  ) => {
    await fire({ url, connections, durationS: warmS(b), headers, steps: [step] });
    b.log(`  ${name}…`);
    return fire({ url, connections, durationS, headers, steps: [step] });
  };
  const hello = sidecarDecisions(b, false);
  const ceiling = await run("hono hello world", b.hello.url, hello);
  const openfga = await run("openfga direct", b.openfga.url, openfgaChecks(b));
  const side = sidecarDecisions(b);
  await fire({ url: b.sidecar.url, connections, durationS: warmS(b), headers: auth(b), steps: [side] });
  b.log("  sidecar…");
  const watchSidecar = watchProc(b.sidecar.pid);
  const watchFga = b.openfga.pid ? watchProc(b.openfga.pid) : null;
  const sidecar = await fire({ url: b.sidecar.url, connections, durationS, headers: auth(b), steps: [side] });
  const resources = { sidecar: watchSidecar.stop(), openfga: watchFga?.stop() ?? null };
  return {
    ceiling,
    openfga,
    sidecar,
    ratios: {
      // Rates of 2xx answers: a 503 (engine timeout, fail closed) is not a decision.
      rpsSidecarOverOpenfga: ratio(sidecar.okPerSecond, openfga.okPerSecond),
      rpsSidecarOverCeiling: ratio(sidecar.okPerSecond, ceiling.okPerSecond),
      p50SidecarOverOpenfga: ratio(sidecar.latencyMs.p50, openfga.latencyMs.p50),
      p99SidecarOverOpenfga: ratio(sidecar.latencyMs.p99, openfga.latencyMs.p99),
    },
    resources,
  };
}

export interface BatchResult {
  batchSize: number;
  /** decisionsPerSecond counts items answered without an engine error; itemErrors the others. */
  batch: LoadResult & { decisionsPerSecond: number; itemErrors: number; firstMismatch?: string };
  single: { decisionsPerSecond: number; source: string };
  ratioBatchOverSingle: number | null;
}

/** Phase 3: /access/v1/evaluations with `batchSize` items per call vs single calls (same connections). */
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
    single: { decisionsPerSecond: single.okPerSecond, source: "sidecar single-decision run above (2xx/s)" },
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
      });
      const body = (await res.json()) as {
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
    count: got.size,
    expected: expected.size,
    missing,
    extra,
    complete: !error && missing === 0 && extra === 0,
    error,
  };
}
