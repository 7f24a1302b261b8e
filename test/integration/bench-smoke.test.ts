import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";

const run = promisify(execFile);

/**
 * Keeps `npm run bench` working: the smoke mode (tiny dataset, short phases)
 * runs end to end as a child process. Only the shape of the results and the
 * correctness of the answers are asserted, never a timing.
 */
/** Summary fields that may be null, and when (see bench/summary.ts). */
const NULLABLE = new Set([
  "hitRatio", // the sidecar serves no decision-cache metrics
  "sidecarCpuUsPerDecision", // no /proc (not Linux)
  "sidecarCpuUsPerDecisionCached",
  "sidecarCpuUsPerDecisionUncached",
]);
const SUMMARY_FIELDS = [
  "cachedOverOpenfga",
  "cachedOverCeiling",
  "uncachedOverOpenfga",
  "hitRatio",
  "staleAllows",
  "staleProbeFailedPaths",
  "mismatches",
  "batchOverSingle",
  "batchItemErrors",
  "searchP99Ms",
  "sidecarCpuUsPerDecision",
  "sidecarCpuUsPerDecisionCached",
  "sidecarCpuUsPerDecisionUncached",
  "replicasOkPerSecond",
  "replicasOverSingle",
  "overloadRatio",
  "overload503Share",
];

describe("benchmark smoke mode (issues #9, #12, #14)", () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("runs every phase, exits 0 with no stale allow and writes a results JSON with the expected keys", async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bench-smoke-"));
    // Exits non-zero (and this rejects) when the stale-allow probe saw a stale allow or could not check a path.
    const { stdout } = await run("npx", ["tsx", "bench/run.ts", "--smoke", "--out", out], {
      env: { ...process.env, OPENFGA_API_URL: inject("openfgaUrl"), DATABASE_URL: inject("databaseUrl") },
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("| sidecar, cache on, warm |");
    expect(stdout).toContain("| staleAllows | 0 |");
    const files = (await readdir(out)).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(1);
    const r = JSON.parse(await readFile(path.join(out, files[0]!), "utf8"));

    expect(Object.keys(r).sort()).toEqual([
      "batch",
      "dataset",
      "meta",
      "overload",
      "replicas",
      "resources",
      "search",
      "single",
      "stale",
      "summary",
      "workflow",
    ]);
    expect(r.meta.smoke).toBe(true);
    expect(r.meta.sidecarCommand).toBe("node dist/main.js");
    expect(r.dataset.counts).toMatchObject({
      organizations: 6,
      users: 60,
      portfolios: 12,
      parks: 36,
      cooperations: 8,
    });
    expect(r.dataset.tuples).toBeGreaterThan(200);
    expect(typeof r.dataset.loadMs).toBe("number");

    // The summary: every field a number, null only where documented.
    expect(Object.keys(r.summary).sort()).toEqual([...SUMMARY_FIELDS].sort());
    for (const k of SUMMARY_FIELDS) {
      const v = r.summary[k];
      if (v === null && NULLABLE.has(k)) continue;
      expect(typeof v, `summary.${k} = ${v}`).toBe("number");
      expect(Number.isFinite(v), `summary.${k} = ${v}`).toBe(true);
    }

    for (const target of ["ceiling", "openfga", "uncachedCold", "uncached", "cachedCold", "cached"]) {
      expect(r.single[target]).toHaveProperty("requestsPerSecond");
      expect(r.single[target].latencyMs).toHaveProperty("p99");
    }
    // The first pass asks every distinct question once.
    expect(r.single.cachedCold.requests).toBe(r.dataset.cases);
    expect(r.single.uncachedCold.requests).toBe(r.dataset.cases);
    for (const replica of ["a", "b"]) expect(r.replicas[replica].load.ok).toBeGreaterThan(0);
    expect(r.overload.overload.connections).toBe(200);
    expect(r.batch.batchSize).toBe(50);
    expect(r.batch.batch).toHaveProperty("decisionsPerSecond");
    expect(r.batch.batch).toHaveProperty("itemErrors");
    for (const who of ["partnerAdmin", "organizationAdmin"]) {
      expect(r.search[who]).toHaveProperty("expected");
      expect(r.search[who]).toHaveProperty("count");
      expect(r.search[who].expected).toBeGreaterThan(0);
    }
    expect(r.workflow).toHaveProperty("decisionsBaseline");
    expect(r.workflow).toHaveProperty("roleChanges");
    expect(r.workflow).toHaveProperty("invitationAccepts");
    for (const run of ["uncached", "cached"]) {
      expect(r.resources[run].sidecar).toHaveProperty("rssMbPeak");
      expect(r.resources[run].sidecar).toHaveProperty("cpuPercentOfOneCore");
    }

    // Correctness, whatever the speed. No allow after a revoke answered (R-G1), on either
    // replica, on every revoke path, each of which was primed with an allow first.
    expect(r.summary.staleAllows).toBe(0);
    expect(r.stale.paths).toHaveLength(8);
    for (const p of r.stale.paths) {
      expect(p.error, p.name).toBeUndefined();
      expect(p.primed, p.name).toBe(true);
      expect(p.after.decisions, p.name).toBeGreaterThanOrEqual(2 * r.stale.rounds);
      expect(p.staleAllows, p.name).toBe(0);
    }
    // Every decision answered matches the brute-force answer from the rows.
    expect(r.summary.mismatches).toBe(0);
    expect(r.single.openfga.checked).toBeGreaterThan(0);
    expect(r.single.cached.checked).toBeGreaterThan(0);
    // A search either fails loudly or is complete; it never silently returns a partial set,
    // and at least one of them completes (searchP99Ms, a number above, needs one).
    for (const who of ["partnerAdmin", "organizationAdmin"]) {
      const s = r.search[who];
      if (s.error) {
        expect(s.error, who).toMatch(/^(HTTP|request failed)/);
        continue;
      }
      expect([who, s.complete, s.missing, s.extra, s.count]).toEqual([who, true, 0, 0, s.expected]);
      expect(s.iterations, who).toBeGreaterThan(0);
    }
    const complete = Object.values(r.search).filter((s) => (s as { complete: boolean }).complete);
    expect(complete.length).toBeGreaterThan(0);
    expect(r.summary.searchP99Ms).toBeGreaterThan(0);
  }, 300_000);
});
