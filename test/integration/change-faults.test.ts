import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Faults } from "../../src/kernel/deps.js";
import { Unavailable } from "../../src/kernel/errors.js";
import { findOpenFgaBinary, type LocalOpenFga, startLocalOpenFga } from "../../src/local/openfga.js";
import type { TestContext } from "../support/app.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import { context } from "../support/org-factories.js";

/**
 * R-G1/R-G2 under faults: the database or the engine goes away at every step
 * of a change's unit of work (before the engine write, during it, at commit,
 * after commit). Whatever the answer, once both are back: a non-2xx change
 * left no allow behind, a 2xx change is durable and visible. The engine is a
 * dedicated OpenFGA process paused with SIGSTOP (a hung engine: requests time
 * out and may land later); the database is this test's own database with
 * connections refused and its sessions terminated.
 */

type Step = "before-engine-write" | "during-engine-write" | "at-commit" | "after-commit";
type Down = "database" | "engine";

describe("R-G2 a change failing at any step leaves no access behind; a 2xx change holds", () => {
  let fga: LocalOpenFga;
  let t: TestContext;
  let admin: postgres.Sql;
  let dbName: string;
  let fault: { step: Step; down: Down } | undefined;
  /** Set: the next engine write fails at once and is applied this many ms later. */
  let lateBy: number | undefined;
  let landed: Promise<void> | undefined;

  const takeDown = async (down: Down) => {
    fault = undefined;
    if (down === "engine") {
      fga.process.kill("SIGSTOP");
      return;
    }
    await admin.unsafe(`alter database "${dbName}" allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = ${dbName} and pid <> pg_backend_pid()`;
  };
  const bringBack = async () => {
    fga.process.kill("SIGCONT");
    await admin.unsafe(`alter database "${dbName}" allow_connections true`);
  };
  const at = (step: Step) => async () => {
    if (fault?.step === step) await takeDown(fault.down);
  };
  const faults: Faults = {
    beforeEngineWrite: at("before-engine-write"),
    beforeCommit: at("at-commit"),
    afterCommit: at("after-commit"),
  };

  beforeAll(async () => {
    fga = await startLocalOpenFga({ bin: await findOpenFgaBinary(), engine: "memory" });
    // Short engine bounds so a paused engine fails calls quickly.
    t = await context({
      openfgaUrl: fga.url,
      faults,
      config: { OPENFGA_TIMEOUT_MS: "1500", OPENFGA_SEARCH_TIMEOUT_MS: "1500" },
    });
    dbName = new URL(t.databaseUrl).pathname.slice(1);
    admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
    // "During the engine write": the write reaches the engine, then its
    // answer is lost because the dependency goes away before it returns.
    const write = t.engine.write.bind(t.engine);
    t.engine.write = async (delta) => {
      if (lateBy !== undefined) {
        const ms = lateBy;
        lateBy = undefined;
        landed = new Promise((r) => setTimeout(r, ms)).then(() => write(delta));
        throw Unavailable("engine-unavailable", "the authorization engine did not answer");
      }
      if (fault?.step !== "during-engine-write") return write(delta);
      const { down } = fault;
      if (down === "engine") {
        await takeDown("engine");
        return write(delta);
      }
      await write(delta);
      await takeDown("database");
    };
  });
  afterAll(async () => {
    await bringBack().catch(() => {});
    await t?.close();
    await admin?.end();
    await fga?.stop();
  });

  const cases: [Step, Down][] = [];
  for (const step of ["before-engine-write", "during-engine-write", "at-commit", "after-commit"] as const)
    for (const down of ["database", "engine"] as const) cases.push([step, down]);

  it.each(cases)("a promotion with a fault %s (%s down)", async (step, down) => {
    const org = await createOrg(t);
    const member = await addMemberTo(t, org.id, "member");
    const canManage = () =>
      t.engine.check({
        user: `user:${member}`,
        relation: "can_manage_settings",
        object: `organization:${org.id}`,
      });
    expect(await canManage()).toBe(false);

    fault = { step, down };
    const res = await t.request("PUT", `/v1/organizations/${org.id}/members/${member}/role`, {
      actor: org.admin,
      body: { role: "admin" },
    });
    fault = undefined;
    const status = res.status;
    const body = await res.json();
    await bringBack();

    // Never a 500: a failure is 503 (with Retry-After) or the change succeeded.
    expect([200, 503], JSON.stringify(body)).toContain(status);
    if (status === 503) expect(res.headers.get("retry-after")).toBeTruthy();
    // Settled: no journal row left (the settle pass ran once both answered).
    await expect
      .poll(async () => (await t.sql`select count(*)::int as n from engine_journal`)[0]!.n, {
        timeout: 20_000,
        interval: 250,
      })
      .toBe(0);
    const [row] = await t.sql`select role from memberships where user_id = ${member}`;
    if (status === 200) {
      expect(row?.role).toBe("admin");
      expect(await canManage()).toBe(true);
    } else {
      expect(row?.role).toBe("member");
      expect(await canManage()).toBe(false);
      // A write that timed out may land late; look again after a while.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await canManage()).toBe(false);
    }
    // Engine and database agree on everything.
    const { reconcile } = await import("../../src/engine-sync/reconcile.js");
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
    // Where the fault leaves the outcome certain, the answer is fixed too.
    if (step === "after-commit") expect(status).toBe(200);
    if (step === "before-engine-write" || step === "during-engine-write") expect(status).toBe(503);
    if (step === "at-commit" && down === "engine") expect(status).toBe(200);
  });

  it("a timed-out engine write that lands after the engine answers again is undone before the journal empties", async () => {
    const org = await createOrg(t);
    const member = await addMemberTo(t, org.id, "member");
    const canManage = () =>
      t.engine.check({
        user: `user:${member}`,
        relation: "can_manage_settings",
        object: `organization:${org.id}`,
      });
    lateBy = 400;
    const res = await t.request("PUT", `/v1/organizations/${org.id}/members/${member}/role`, {
      actor: org.admin,
      body: { role: "admin" },
    });
    expect(res.status).toBe(503);
    // The write is applied after the first settling pass has found nothing to do.
    await landed;
    const journal = async () => (await t.sql`select count(*)::int as n from engine_journal`)[0]!.n;
    // An empty journal means settled (the decision cache serves again): no allow left.
    await expect.poll(journal, { timeout: 20_000, interval: 25 }).toBe(0);
    expect(await canManage()).toBe(false);
    const [row] = await t.sql`select role from memberships where user_id = ${member}`;
    expect(row?.role).toBe("member");
  });

  it("R-G1 a change whose answer is read after it commits answers 2xx when the database goes away right after the commit", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const { activeCooperation } = await import("../support/org-factories.js");
    const coop = await activeCooperation(t, owner.id, partner.id, []);
    fault = { step: "after-commit", down: "database" };
    const res = await t.json("PUT", `/v1/cooperations/${coop.id}/shares/portfolio/${owner.portfolioId}`, {
      actor: owner.admin,
      body: { level: "viewer" },
    });
    fault = undefined;
    await bringBack();
    expect([res.status, res.body.shares]).toEqual([
      200,
      [{ resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" }],
    ]);
  });
});
