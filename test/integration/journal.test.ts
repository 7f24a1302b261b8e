import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testConfig } from "../../src/config.js";
import { journalBegin, recoverJournal } from "../../src/engine-sync/journal.js";
import { ProcessCrash } from "../../src/kernel/deps.js";
import { diffTuples, membershipTuples } from "../../src/kernel/tuples.js";
import { startService } from "../../src/server.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg } from "../support/factories.js";

/**
 * R-G3 with the engine journal: a change records its tuple keys (committed on
 * a separate connection) before it writes to the engine and removes the record
 * after it commits, so recovery after a crash checks only those keys.
 */
describe("R-G3 engine journal", () => {
  let crash = false;
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({
      faults: {
        afterEngineWrite: () => {
          if (crash) throw new ProcessCrash("simulated crash before commit");
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const journalRows = async () =>
    (await t.sql`select tuples from engine_journal order by id`).map((r) => r.tuples);
  const canManage = (user: string, org: string) =>
    t.engine.check({ user: `user:${user}`, relation: "can_manage_members", object: `organization:${org}` });

  it("a committed change leaves no journal row", async () => {
    const org = await createOrg(t);
    const member = await addMemberTo(t, org.id, "member");
    const res = await t.json("PUT", `/v1/organizations/${org.id}/members/${member}/role`, {
      actor: org.admin,
      body: { role: "moderator" },
    });
    expect(res.status).toBe(200);
    expect(await journalRows()).toEqual([]);
  });

  it("a crash after the engine write leaves the keys journaled, and recovery restores agreement from them alone", async () => {
    const org = await createOrg(t);
    const member = await addMemberTo(t, org.id, "member");
    crash = true;
    let res: Response;
    try {
      res = await t.request("PUT", `/v1/organizations/${org.id}/members/${member}/role`, {
        actor: org.admin,
        body: { role: "admin" },
      });
    } finally {
      crash = false;
    }
    expect(res.status).toBe(500);
    // The database rolled back; the engine kept the promotion: a stale allow.
    const [row] = await t.sql`select role from memberships where user_id = ${member}`;
    expect(row?.role).toBe("member");
    expect(await canManage(member, org.id)).toBe(true);
    const rows = await journalRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual(
      expect.arrayContaining([
        { user: `user:${member}`, relation: "role_admin", object: `organization:${org.id}` },
        { user: `user:${member}`, relation: "role_member", object: `organization:${org.id}` },
      ]),
    );

    // A fresh row is left alone by the periodic pass (it may be a change in flight).
    expect((await recoverJournal(t.deps, 60_000)).entries).toBe(0);
    const recovered = await recoverJournal(t.deps);
    // The promotion's delta: the admin role and its four baseline sets in, the member role out.
    const delta = diffTuples(
      membershipTuples({ userId: member, organizationId: org.id, role: "member" }),
      membershipTuples({ userId: member, organizationId: org.id, role: "admin" }),
    );
    const keys = delta.writes.length + delta.deletes.length;
    expect(keys).toBe(6);
    expect(recovered).toEqual({ entries: 1, keys, repaired: keys });
    expect(await canManage(member, org.id)).toBe(false);
    expect(
      await t.engine.check({
        user: `user:${member}`,
        relation: "can_view",
        object: `organization:${org.id}`,
      }),
    ).toBe(true);
    expect(await journalRows()).toEqual([]);
    expect(await recoverJournal(t.deps)).toEqual({ entries: 0, keys: 0, repaired: 0 });
  });

  it("a service restarting after a crash repairs the journaled tuples before it is ready", async () => {
    const org = await createOrg(t);
    const member = await addMemberTo(t, org.id, "member");
    // What a process that died right after its engine write leaves behind.
    const stray = { user: `user:${member}`, relation: "role_admin", object: `organization:${org.id}` };
    await journalBegin(t.deps.journalSql!, { writes: [stray], deletes: [] });
    await t.engine.write({ writes: [stray], deletes: [] });
    expect(await canManage(member, org.id)).toBe(true);

    const svc = await startService(
      testConfig({
        PORT: "0",
        METRICS_PORT: "0",
        DATABASE_URL: t.databaseUrl,
        OPENFGA_API_URL: inject("openfgaUrl"),
        OPENFGA_STORE_ID: t.engine.storeId!,
        OPENFGA_MODEL_ID: t.engine.modelId!,
        RECONCILE_INTERVAL_S: "0",
        API_KEYS: `k:decide:${"0".repeat(64)}`,
      }),
      pino({ level: "silent" }),
    );
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await fetch(`${svc.url}/readyz`)).status !== 200) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
      expect(await canManage(member, org.id)).toBe(false);
      expect(await journalRows()).toEqual([]);
    } finally {
      await svc.stop();
    }
  });

  it("R-G3 a key the database does imply is confirmed, not removed", async () => {
    const org = await createOrg(t);
    const id = `${randomUUID()}`;
    const kept = { user: `user:${org.admin}`, relation: "role_admin", object: `organization:${org.id}` };
    await journalBegin(t.deps.journalSql!, { writes: [kept], deletes: [] });
    const r = await recoverJournal(t.deps);
    expect([r.entries, r.repaired, id.length]).toEqual([1, 0, 36]);
    expect(await canManage(org.admin, org.id)).toBe(true);
  });
});
