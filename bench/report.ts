import type { LoadResult } from "./cannon.js";
import type { BatchResult, SearchResult, SingleResult } from "./phases.js";
import type { WorkflowResult, WorkflowRun } from "./workflow.js";

/** The results file: one object per run, these top-level keys always present. */
export interface BenchResults {
  meta: Record<string, unknown>;
  dataset: Record<string, unknown>;
  single: SingleResult;
  batch: BatchResult;
  search: { partnerAdmin: SearchResult; organizationAdmin: SearchResult };
  workflow: WorkflowResult;
  resources: SingleResult["resources"];
}

const f = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || Number.isNaN(x)
    ? "–"
    : x.toLocaleString("en-US", { maximumFractionDigits: d });

const loadRow = (name: string, r: LoadResult, extra = "") =>
  `| ${name} | ${f(r.requestsPerSecond, 0)} | ${f(r.okPerSecond, 0)} | ${f(r.latencyMs.p50)} | ${f(r.latencyMs.p99)} | ${r.non2xx + r.errors} | ${r.checked ? `${f((100 * r.allows) / r.checked, 0)}% / ${r.mismatches}` : "–"} | ${extra} |`;

const isRun = (x: WorkflowRun | { skipped: string }): x is WorkflowRun => !("skipped" in x);

export function markdown(r: BenchResults): string {
  const d = r.dataset as {
    counts: Record<string, number>;
    loadMs: number;
    tuples: number;
    sidecarStartMs: number;
  };
  const s = r.single;
  const out: string[] = [];
  out.push(`## Benchmark ${r.meta.startedAt} (${r.meta.smoke ? "smoke" : "full"})`, "");
  out.push(
    `Machine: ${r.meta.cpus} × ${r.meta.cpuModel}, Node ${r.meta.node}. OpenFGA: ${(r.meta.infra as { openfga: string }).openfga}.`,
    "",
  );
  out.push("| dataset | value |", "|---|---|");
  for (const [k, v] of Object.entries(d.counts)) out.push(`| ${k} | ${f(v, 0)} |`);
  out.push(`| tuples written | ${f(d.tuples, 0)} |`, `| load time | ${f(d.loadMs / 1000, 1)} s |`);
  out.push(`| sidecar start-up (incl. reconcile) | ${f(d.sidecarStartMs / 1000, 1)} s |`, "");
  out.push(
    `Single decisions (${s.sidecar.connections} connections, ${s.sidecar.durationS} s each):`,
    "",
    "| target | answers/s | 2xx/s | p50 ms | p99 ms | errors | allow / mismatches | note |",
    "|---|---|---|---|---|---|---|---|",
    loadRow("Hono hello world (ceiling)", s.ceiling),
    loadRow("OpenFGA Check (direct)", s.openfga),
    loadRow("sidecar /access/v1/evaluation", s.sidecar),
    loadRow(
      `sidecar /access/v1/evaluations ×${r.batch.batchSize}`,
      r.batch.batch,
      `${f(r.batch.batch.decisionsPerSecond, 0)} decisions/s (×${f(r.batch.ratioBatchOverSingle, 2)} vs single); ${r.batch.batch.itemErrors} items with engine errors`,
    ),
    "",
    `Ratios (2xx/s): sidecar/OpenFGA ${f(s.ratios.rpsSidecarOverOpenfga, 3)}, sidecar/ceiling ${f(
      s.ratios.rpsSidecarOverCeiling,
      3,
    )}, sidecar/OpenFGA p50 ${f(s.ratios.p50SidecarOverOpenfga, 2)}, p99 ${f(s.ratios.p99SidecarOverOpenfga, 2)}.`,
    "",
  );
  const res = r.resources;
  out.push(
    "| process under the sidecar run | CPU % of one core | RSS before MB | RSS avg MB | RSS peak MB |",
    "|---|---|---|---|---|",
  );
  for (const [name, u] of Object.entries(res)) {
    if (u)
      out.push(
        `| ${name} | ${f(u.cpuPercentOfOneCore)} | ${f(u.rssMbBefore)} | ${f(u.rssMbAvg)} | ${f(u.rssMbPeak)} |`,
      );
  }
  out.push(
    "",
    "| search (parks, can_view) | results | brute force | complete | p50 ms | max ms | pages |",
    "|---|---|---|---|---|---|---|",
  );
  for (const [name, q] of Object.entries(r.search)) {
    out.push(
      `| ${name} | ${q.count} | ${q.expected} | ${q.complete ? "yes" : `NO${q.error ? ` (${q.error})` : ""}`} | ${f(q.latencyMs.p50)} | ${f(q.latencyMs.max)} | ${q.pages} |`,
    );
  }
  const w = r.workflow;
  out.push(
    "",
    `Workflows (decision load beside them: ${w.decisionConnections} connections):`,
    "",
    "| workflow | ops/s | errors | decision p50 ms | decision p99 ms | decision req/s |",
    "|---|---|---|---|---|---|",
    `| decisions alone (baseline) | – | ${w.decisionsBaseline.non2xx + w.decisionsBaseline.errors} | ${f(w.decisionsBaseline.latencyMs.p50)} | ${f(w.decisionsBaseline.latencyMs.p99)} | ${f(w.decisionsBaseline.requestsPerSecond, 0)} |`,
  );
  for (const [name, x] of [
    ["member role changes", w.roleChanges],
    ["invitation create + accept", w.invitationAccepts],
  ] as const) {
    if (isRun(x)) {
      out.push(
        `| ${name} | ${f(x.operationsPerSecond)} | ${x.load.non2xx + x.load.errors} | ${f(x.decisionsDuring.latencyMs.p50)} | ${f(x.decisionsDuring.latencyMs.p99)} | ${f(x.decisionsDuring.requestsPerSecond, 0)} |`,
      );
    } else out.push(`| ${name} | skipped: ${x.skipped.replaceAll("|", "/")} | | | | |`);
  }
  const runs: [string, LoadResult][] = [
    ["ceiling", s.ceiling],
    ["openfga", s.openfga],
    ["sidecar", s.sidecar],
    ["batch", r.batch.batch],
    ["workflow baseline", w.decisionsBaseline],
  ];
  for (const [name, x] of [
    ["role changes", w.roleChanges],
    ["invitations", w.invitationAccepts],
  ] as const) {
    if (isRun(x)) runs.push([name, x.load], [`decisions during ${name}`, x.decisionsDuring]);
  }
  const errs = runs.filter(([, x]) => x.firstError);
  if (errs.length) {
    out.push("", "First error answer of each run that had one:", "");
    for (const [name, x] of errs)
      out.push(`- ${name}: \`${x.firstError!.slice(0, 160).replaceAll("`", "'")}\``);
  }
  return `${out.join("\n")}\n`;
}
