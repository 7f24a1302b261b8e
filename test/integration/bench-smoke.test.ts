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
describe("benchmark smoke mode (issue #9)", () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("runs every phase, exits 0 and writes a results JSON with the expected keys", async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bench-smoke-"));
    const { stdout } = await run("npx", ["tsx", "bench/run.ts", "--smoke", "--out", out], {
      env: { ...process.env, OPENFGA_API_URL: inject("openfgaUrl"), DATABASE_URL: inject("databaseUrl") },
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("| sidecar /access/v1/evaluation |");
    const files = (await readdir(out)).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(1);
    const r = JSON.parse(await readFile(path.join(out, files[0]!), "utf8"));

    expect(Object.keys(r).sort()).toEqual([
      "batch",
      "dataset",
      "meta",
      "resources",
      "search",
      "single",
      "workflow",
    ]);
    expect(r.meta.smoke).toBe(true);
    expect(r.dataset.counts).toMatchObject({
      organizations: 6,
      users: 60,
      portfolios: 12,
      parks: 36,
      cooperations: 8,
    });
    expect(r.dataset.tuples).toBeGreaterThan(200);
    expect(typeof r.dataset.loadMs).toBe("number");
    for (const target of ["ceiling", "openfga", "sidecar"]) {
      expect(r.single[target]).toHaveProperty("requestsPerSecond");
      expect(r.single[target].latencyMs).toHaveProperty("p99");
    }
    expect(r.single.ratios).toHaveProperty("rpsSidecarOverOpenfga");
    expect(r.single.ratios).toHaveProperty("rpsSidecarOverCeiling");
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
    expect(r.resources.sidecar).toHaveProperty("rssMbPeak");
    expect(r.resources.sidecar).toHaveProperty("cpuPercentOfOneCore");

    // Whatever the speed, every decision answered must match the brute-force answer from the rows.
    expect(r.single.sidecar.mismatches).toBe(0);
    expect(r.single.openfga.mismatches).toBe(0);
    expect(r.batch.batch.mismatches).toBe(0);
    // A search either fails loudly or is complete; it never silently returns a partial set.
    for (const who of ["partnerAdmin", "organizationAdmin"]) {
      const s = r.search[who];
      if (!s.error) expect(s.complete).toBe(true);
    }
  }, 300_000);
});
