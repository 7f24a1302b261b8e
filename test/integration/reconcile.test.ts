import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { describeDrift, reconcile } from "../../src/engine-sync/reconcile.js";
import { PROJECT_ROOT } from "../../src/local/openfga.js";
import type { TestContext } from "../support/app.js";
import { userId } from "../support/factories.js";
import { allows, contextHooks, orgWithRoles } from "../support/org-factories.js";

const run = promisify(execFile);

describe("R-G3 reconcile reports and repairs drift", () => {
  let t: TestContext;
  let org: Awaited<ReturnType<typeof orgWithRoles>>;
  contextHooks(async (c) => {
    t = c;
    org = await orgWithRoles(t);
  });

  /** One extra tuple (a stale allow) and one missing tuple (a lost membership). */
  async function drift() {
    const stranger = userId("stranger");
    const extra = { user: `user:${stranger}`, relation: "role_admin", object: `organization:${org.id}` };
    const missing = {
      user: `user:${org.ids.member}`,
      relation: "role_member",
      object: `organization:${org.id}`,
    };
    await t.engine.write({ writes: [extra], deletes: [missing] });
    return { stranger, extra, missing };
  }

  it("reports missing and extra tuples without touching the engine, then repairs them", async () => {
    const clean = await reconcile(t.deps, { repair: false });
    expect([clean.missing, clean.extra, clean.repaired]).toEqual([[], [], false]);
    expect(clean.desired).toBe(clean.actual);

    const { stranger, extra, missing } = await drift();
    const report = await reconcile(t.deps, { repair: false });
    expect(report.missing).toEqual([missing]);
    expect(report.extra).toEqual([extra]);
    expect(report.repaired).toBe(false);
    expect(describeDrift(report)).toEqual([
      `missing organization:${org.id}#role_member@user:${org.ids.member}`,
      `extra   organization:${org.id}#role_admin@user:${stranger}`,
    ]);
    expect(await allows(t, stranger, "can_manage_settings", `organization:${org.id}`)).toBe(true);

    const repaired = await reconcile(t.deps, { repair: true });
    expect(repaired.repaired).toBe(true);
    expect(await allows(t, stranger, "can_manage_settings", `organization:${org.id}`)).toBe(false);
    expect(await allows(t, org.ids.member, "can_view", `organization:${org.id}`)).toBe(true);
    const after = await reconcile(t.deps, { repair: false });
    expect([after.missing, after.extra]).toEqual([[], []]);
  });

  describe("npm run reconcile (src/reconcile-cli.ts)", () => {
    const cli = async (args: string[], env: Record<string, string> = {}) => {
      const tsx = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
      const base = {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: t.databaseUrl,
        OPENFGA_API_URL: t.engine.opts.apiUrl,
        OPENFGA_STORE_ID: t.engine.storeId!,
        OPENFGA_MODEL_ID: t.engine.modelId!,
      };
      try {
        const r = await run(tsx, ["src/reconcile-cli.ts", ...args], {
          cwd: PROJECT_ROOT,
          env: { ...base, ...env },
          timeout: 120_000,
        });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
      }
    };

    // Each run starts tsx in a child process (seconds on a loaded machine): generous timeouts.
    it("exits 2 and prints the drift without --repair; repairs it and exits 0 with --repair", {
      timeout: 240_000,
    }, async () => {
      const { stranger } = await drift();
      const dry = await cli([]);
      expect(dry.code).toBe(2);
      expect(dry.stdout).toContain(`missing organization:${org.id}#role_member@user:${org.ids.member}`);
      expect(dry.stdout).toContain(`extra   organization:${org.id}#role_admin@user:${stranger}`);
      expect(dry.stdout).toMatch(/1 missing, 1 extra/);
      expect(await allows(t, stranger, "can_manage_settings", `organization:${org.id}`)).toBe(true);

      const fix = await cli(["--repair"]);
      expect(fix.code).toBe(0);
      expect(fix.stdout).toMatch(/no drift remains/);
      expect(await allows(t, stranger, "can_manage_settings", `organization:${org.id}`)).toBe(false);
      expect(await allows(t, org.ids.member, "can_view", `organization:${org.id}`)).toBe(true);

      const clean = await cli([]);
      expect(clean.code).toBe(0);
      expect(clean.stdout).toMatch(/0 missing, 0 extra/);
    });

    it("exits 1 with a readable message when configuration is missing or an argument is unknown", {
      timeout: 180_000,
    }, async () => {
      const noDb = await cli([], { DATABASE_URL: "" });
      expect(noDb.code).toBe(1);
      expect(noDb.stderr).toMatch(/DATABASE_URL/);
      const bad = await cli(["--nope"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/unknown argument/);
    });
  });
});
