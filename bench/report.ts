import type { LoadResult } from "./cannon.js";
import type { CacheDelta } from "./metrics.js";
import type { OverloadResult } from "./overload.js";
import type { BatchResult, SearchResult } from "./phases.js";
import type { ReplicasResult } from "./replicas.js";
import type { SingleResult } from "./single.js";
import type { StaleResult } from "./stale.js";
import { type Summary, TARGETS } from "./summary.js";
import type { WorkflowResult, WorkflowRun } from "./workflow.js";

/** The results file: one object per run, these top-level keys always present. */
export interface BenchResults {
  meta: Record<string, unknown>;
  dataset: Record<string, unknown>;
  summary: Summary;
  single: SingleResult;
  replicas: ReplicasResult;
  batch: BatchResult;
  search: { partnerAdmin: SearchResult; organizationAdmin: SearchResult };
  overload: OverloadResult;
  stale: StaleResult;
  workflow: WorkflowResult;
  resources: SingleResult["resources"];
}

const f = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || Number.isNaN(x)
    ? "–"
    : x.toLocaleString("en-US", { maximumFractionDigits: d });

const hit = (c: CacheDelta) => (c.hitRatio === null ? "–" : `${f(100 * c.hitRatio, 1)}% hits`);

const loadRow = (name: string, r: LoadResult, extra = "") =>
  `| ${name} | ${f(r.requestsPerSecond, 0)} | ${f(r.okPerSecond, 0)} | ${f(r.latencyMs.p50)} | ${f(r.latencyMs.p99)} | ${r.non2xx + r.errors} | ${r.checked ? `${f((100 * r.allows) / r.checked, 0)}% / ${r.mismatches}` : "–"} | ${extra} |`;

const LOAD_HEAD = [
  "| target | answers/s | 2xx/s | p50 ms | p99 ms | errors | allow / mismatches | note |",
  "|---|---|---|---|---|---|---|---|",
];

const isRun = (x: WorkflowRun | { skipped: string }): x is WorkflowRun => !("skipped" in x);

function summaryTable(s: Summary): string[] {
  const out = ["| summary | value | target |", "|---|---|---|"];
  for (const [k, v] of Object.entries(s) as [keyof Summary, number | null][]) {
    const t = TARGETS.find((x) => x.key === k);
    const verdict = t && v !== null ? (t.met(v) ? " ✓" : " ✗") : "";
    out.push(`| ${k} | ${f(v, 4)} | ${t ? `${t.label}${verdict}` : ""} |`);
  }
  return out;
}

function decisionTables(r: BenchResults): string[] {
  const s = r.single;
  const p = r.replicas;
  const cpu = (x: SingleResult["resources"]["cached"]) =>
    x.sidecar
      ? `sidecar ${f(x.sidecar.cpuPercentOfOneCore)}% CPU, ${f(x.sidecarCpuUsPerDecision, 0)} µs/decision`
      : "";
  return [
    `Single decisions (${s.cached.connections} connections, ${s.cached.durationS} s each):`,
    "",
    ...LOAD_HEAD,
    loadRow("Hono hello world (ceiling)", s.ceiling),
    loadRow("OpenFGA Check (direct)", s.openfga),
    loadRow(`sidecar, cache off: first pass (${s.uncachedCold.requests} questions)`, s.uncachedCold),
    loadRow("sidecar, cache off", s.uncached, cpu(s.resources.uncached)),
    loadRow(
      `sidecar, cache on: first pass (${s.cachedCold.requests} questions)`,
      s.cachedCold,
      hit(s.cache.cold),
    ),
    loadRow("sidecar, cache on, warm", s.cached, `${hit(s.cache.warm)}; ${cpu(s.resources.cached)}`),
    loadRow(`replica A (of 2, ${p.connectionsPerReplica[0]} conn.)`, p.a.load, hit(p.a.cache)),
    loadRow(`replica B (of 2, ${p.connectionsPerReplica[1]} conn.)`, p.b.load, hit(p.b.cache)),
    `| replicas A + B (total) | ${f(p.total.requestsPerSecond, 0)} | ${f(p.total.okPerSecond, 0)} | | | ${p.total.non2xx + p.total.errors} | ${p.total.mismatches} mismatches | B's first pass ${f(p.bCold.okPerSecond, 0)} 2xx/s |`,
    loadRow(
      `sidecar /access/v1/evaluations ×${r.batch.batchSize} (cache on)`,
      r.batch.batch,
      `${f(r.batch.batch.decisionsPerSecond, 0)} decisions/s (×${f(r.batch.ratioBatchOverSingle, 2)} vs single); ${r.batch.batch.itemErrors} items with engine errors`,
    ),
    "",
    `Overload (${r.overload.target}): ${r.overload.base.connections} vs ${r.overload.overload.connections} connections`,
    "",
    ...LOAD_HEAD,
    loadRow(`${r.overload.base.connections} connections`, r.overload.base),
    loadRow(
      `${r.overload.overload.connections} connections`,
      r.overload.overload,
      `×${f(r.overload.ratio, 3)} 2xx/s; ${f(100 * (r.overload.share503 ?? Number.NaN), 1)}% 503`,
    ),
  ];
}

function staleTable(st: StaleResult): string[] {
  const out = [
    `Stale-allow probe (revoke through ${st.replicas[0]}, decisions at ${st.replicas.join(" and ")}, ${st.rounds} rounds + a decision loop per replica):`,
    "",
    "| revoke path | primed | revoke | revoke ms | allows before (loops) | decisions after | stale allows | denies | errors |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const p of st.paths)
    out.push(
      `| ${p.name} | ${p.primed ? "yes" : "NO"} | ${p.revokeStatus ?? "–"} | ${f(p.revokeMs, 0)} | ${p.before.allows}/${p.before.decisions} | ${p.after.decisions} | ${p.staleAllows} | ${p.after.denies} | ${p.after.errors}${p.error ? ` (${p.error.slice(0, 120).replaceAll("|", "/")})` : ""} |`,
    );
  return out;
}

function otherTables(r: BenchResults): string[] {
  const out = [
    "| process | run | CPU % of one core | RSS before MB | RSS avg MB | RSS peak MB |",
    "|---|---|---|---|---|---|",
  ];
  for (const [run, res] of Object.entries(r.resources))
    for (const [name, u] of [
      ["sidecar", res.sidecar],
      ["openfga", res.openfga],
    ] as const)
      if (u)
        out.push(
          `| ${name} | ${run} | ${f(u.cpuPercentOfOneCore)} | ${f(u.rssMbBefore)} | ${f(u.rssMbAvg)} | ${f(u.rssMbPeak)} |`,
        );
  out.push(
    "",
    "| search (parks, can_view) | results | brute force | complete | p50 ms | max ms | pages |",
    "|---|---|---|---|---|---|---|",
  );
  for (const [name, q] of Object.entries(r.search))
    out.push(
      `| ${name} | ${q.count} | ${q.expected} | ${q.complete ? "yes" : `NO${q.error ? ` (${q.error})` : ""}`} | ${f(q.latencyMs.p50)} | ${f(q.latencyMs.max)} | ${q.pages} |`,
    );
  const w = r.workflow;
  out.push(
    "",
    `Workflows (decision load beside them: ${w.decisionConnections} connections, replica A):`,
    "",
    "| workflow | ops/s | errors | decision p50 ms | decision p99 ms | decision req/s |",
    "|---|---|---|---|---|---|",
    `| decisions alone (baseline) | – | ${w.decisionsBaseline.non2xx + w.decisionsBaseline.errors} | ${f(w.decisionsBaseline.latencyMs.p50)} | ${f(w.decisionsBaseline.latencyMs.p99)} | ${f(w.decisionsBaseline.requestsPerSecond, 0)} |`,
  );
  for (const [name, x] of [
    ["member role changes", w.roleChanges],
    ["invitation create + accept", w.invitationAccepts],
  ] as const) {
    if (isRun(x))
      out.push(
        `| ${name} | ${f(x.operationsPerSecond)} | ${x.load.non2xx + x.load.errors} | ${f(x.decisionsDuring.latencyMs.p50)} | ${f(x.decisionsDuring.latencyMs.p99)} | ${f(x.decisionsDuring.requestsPerSecond, 0)} |`,
      );
    else out.push(`| ${name} | skipped: ${x.skipped.replaceAll("|", "/")} | | | | |`);
  }
  return out;
}

function firstErrors(r: BenchResults): string[] {
  const s = r.single;
  const w = r.workflow;
  const runs: [string, LoadResult][] = [
    ["ceiling", s.ceiling],
    ["openfga", s.openfga],
    ["sidecar cache off, first pass", s.uncachedCold],
    ["sidecar cache off", s.uncached],
    ["sidecar first pass", s.cachedCold],
    ["sidecar cache on", s.cached],
    ["replica A", r.replicas.a.load],
    ["replica B", r.replicas.b.load],
    ["batch", r.batch.batch],
    ["overload base", r.overload.base],
    ["overload", r.overload.overload],
    ["workflow baseline", w.decisionsBaseline],
  ];
  for (const [name, x] of [
    ["role changes", w.roleChanges],
    ["invitations", w.invitationAccepts],
  ] as const)
    if (isRun(x)) runs.push([name, x.load], [`decisions during ${name}`, x.decisionsDuring]);
  const errs = runs.filter(([, x]) => x.firstError);
  if (!errs.length) return [];
  return [
    "",
    "First error answer of each run that had one:",
    "",
    ...errs.map(([name, x]) => `- ${name}: \`${x.firstError!.slice(0, 160).replaceAll("`", "'")}\``),
  ];
}

export function markdown(r: BenchResults): string {
  const d = r.dataset as {
    counts: Record<string, number>;
    loadMs: number;
    tuples: number;
    sidecarStartMs: number;
  };
  const out: string[] = [
    `## Benchmark ${r.meta.startedAt} (${r.meta.smoke ? "smoke" : "full"})`,
    "",
    `Machine: ${r.meta.cpus} × ${r.meta.cpuModel}, Node ${r.meta.node}. OpenFGA: ${(r.meta.infra as { openfga: string }).openfga}. Sidecar: ${r.meta.sidecarCommand}.`,
    "",
    ...summaryTable(r.summary),
    "",
    "| dataset | value |",
    "|---|---|",
    ...Object.entries(d.counts).map(([k, v]) => `| ${k} | ${f(v, 0)} |`),
    `| tuples written | ${f(d.tuples, 0)} |`,
    `| load time | ${f(d.loadMs / 1000, 1)} s |`,
    `| sidecar start-up (replica A, incl. recovery) | ${f(d.sidecarStartMs / 1000, 1)} s |`,
    "",
    ...decisionTables(r),
    "",
    ...staleTable(r.stale),
    "",
    ...otherTables(r),
    ...firstErrors(r),
  ];
  return `${out.join("\n")}\n`;
}
