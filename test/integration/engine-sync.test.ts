import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcile } from "../../src/engine-sync/reconcile.js";
import { ProcessCrash } from "../../src/kernel/deps.js";
import { membershipTuples } from "../../src/kernel/tuples.js";
import { findOpenFgaBinary, type LocalOpenFga, startLocalOpenFga } from "../../src/local/openfga.js";
import type { TestContext } from "../support/app.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";
import {
  activeCooperation,
  allows,
  auditCount,
  context,
  contextHooks,
  grants,
  membershipOf,
  orgWithRoles,
  parks,
  sysadmin,
  tuplesOf,
} from "../support/org-factories.js";

const roleUrl = (org: string, user: string) => `/v1/organizations/${org}/members/${user}/role`;
const orgObj = (id: string) => `organization:${id}`;

/** Everything a failed change could have touched, to compare before and after. */
async function snapshot(t: TestContext) {
  return {
    memberships: await t.sql`select user_id, organization_id, role from memberships order by user_id`,
    grants: await t.sql`select resource_type, resource_id, user_id, level from grants order by 1, 2, 3`,
    staff: await t.sql`select user_id, role from platform_staff order by user_id`,
    organizations: await t.sql`select id, name from organizations order by id`,
    audit: await auditCount(t),
  };
}

describe("R-G2 OpenFGA unreachable: changes fail with 503 and leave no partial state", () => {
  let fga: LocalOpenFga;
  let t: TestContext;
  let org: Awaited<ReturnType<typeof orgWithRoles>>;
  let sys: string;
  beforeAll(async () => {
    fga = await startLocalOpenFga({ bin: await findOpenFgaBinary(), engine: "memory" });
    t = await context({ openfgaUrl: fga.url });
    org = await orgWithRoles(t);
    sys = await sysadmin(t);
  });
  afterAll(async () => {
    await t?.close();
    await fga?.stop();
  });

  it("the engine going away during the write (after the checks passed) rolls the change back", async () => {
    const before = await snapshot(t);
    const write = t.engine.write.bind(t.engine);
    t.engine.write = async (delta) => {
      await fga.stop();
      return write(delta);
    };
    try {
      const res = await t.json("PUT", roleUrl(org.id, org.ids.member), {
        actor: org.admin,
        body: { role: "moderator" },
      });
      expect([res.status, res.body.code]).toEqual([503, "engine-unavailable"]);
    } finally {
      t.engine.write = write;
    }
    expect(await snapshot(t)).toEqual(before);
    expect(await membershipOf(t, org.ids.member)).toMatchObject({ role: "member" });
  });

  it("with the engine down every tuple-changing verb is 503 and changes nothing", async () => {
    const before = await snapshot(t);
    const calls: [string, string, string, unknown?][] = [
      ["PUT", roleUrl(org.id, org.ids.external), org.admin, { role: "member" }],
      ["DELETE", `/v1/organizations/${org.id}/members/${org.ids.member}`, org.admin],
      ["POST", `/v1/organizations/${org.id}/leave`, org.ids.moderator],
      ["PUT", `/v1/platform/staff/${userId("s")}`, sys, { role: "support" }],
      ["DELETE", `/v1/platform/staff/${sys}`, sys],
      ["PATCH", `/v1/organizations/${org.id}`, org.admin, { name: "Down" }],
    ];
    for (const [method, path, actor, body] of calls) {
      const res = await t.json(method, path, { actor, body });
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 503, "engine-unavailable"]);
    }
    // Reads that need a decision fail closed too; /v1/me needs no decision.
    expect((await t.json("GET", `/v1/organizations/${org.id}`, { actor: org.admin })).status).toBe(503);
    expect((await t.json("GET", "/v1/me", { actor: org.admin })).status).toBe(200);
    expect(await snapshot(t)).toEqual(before);
  });
});

describe("R-G3 a crash between the engine write and the commit converges through reconcile", () => {
  let crash = false;
  let t: TestContext;
  beforeAll(async () => {
    t = await context({
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

  async function crashing<T>(fn: () => Promise<T>): Promise<T> {
    crash = true;
    try {
      return await fn();
    } finally {
      crash = false;
    }
  }

  it("a crashed promotion leaves a stale allow in the engine; reconcile removes it", async () => {
    const org = await orgWithRoles(t);
    const res = await crashing(() =>
      t.json("PUT", roleUrl(org.id, org.ids.member), { actor: org.admin, body: { role: "admin" } }),
    );
    expect(res.status).toBe(500);
    expect(await membershipOf(t, org.ids.member)).toMatchObject({ role: "member" });
    // Drift: the engine already holds the uncommitted admin tuple.
    expect(await allows(t, org.ids.member, "can_manage_settings", orgObj(org.id))).toBe(true);

    const report = await reconcile(t.deps, { repair: true });
    // The admin role and the baseline sets it adds to a member's (organization sets are stored, model.fga).
    expect(report.extra.map((x) => [x.user, x.relation, x.object]).sort()).toEqual(
      [
        "baseline_asset_manager",
        "baseline_operator",
        "baseline_technical_manager",
        "baseline_viewer",
        "role_admin",
      ].map((relation) => [`user:${org.ids.member}`, relation, orgObj(org.id)]),
    );
    // …and has already deleted the old role tuple.
    expect(report.missing).toEqual([
      { user: `user:${org.ids.member}`, relation: "role_member", object: orgObj(org.id) },
    ]);
    expect(await allows(t, org.ids.member, "can_manage_settings", orgObj(org.id))).toBe(false);
    expect(await allows(t, org.ids.member, "can_view", orgObj(org.id))).toBe(true);
    const again = await reconcile(t.deps, { repair: false });
    expect([again.missing, again.extra]).toEqual([[], []]);
  });

  it("a crashed removal leaves missing tuples (grants, membership); reconcile restores them", async () => {
    const org = await orgWithRoles(t);
    const [park] = await parks(t, org.id, org.portfolioId, [userId("park")]);
    const u = org.ids.asset_manager_technical;
    await grants(t, [
      { resourceType: "park", resourceId: park!, userId: u, level: "operator", organizationId: org.id },
    ]);
    const res = await crashing(() =>
      t.request("DELETE", `/v1/organizations/${org.id}/members/${u}`, { actor: org.admin }),
    );
    expect(res.status).toBe(500);
    expect(await membershipOf(t, u)).not.toBeNull();
    expect(await t.sql`select 1 from grants where user_id = ${u}`).toHaveLength(1);
    expect(await allows(t, u, "can_use_vpn", `park:${park}`)).toBe(false);

    const report = await reconcile(t.deps, { repair: true });
    // An operator grant is stored as four "at least" tuples (src/kernel/tuples.ts impliedLevels).
    // The role with its organization sets, and the grant's four "at least" tuples.
    expect(report.missing.map((x) => x.relation).sort()).toEqual([
      "baseline_technical_manager",
      "baseline_viewer",
      "full_member",
      "grant_asset_manager",
      "grant_operator",
      "grant_technical_manager",
      "grant_viewer",
      "member",
      "role_asset_manager_technical",
    ]);
    expect(report.extra).toEqual([]);
    expect(await allows(t, u, "can_use_vpn", `park:${park}`)).toBe(true);
    expect((await reconcile(t.deps, { repair: false })).missing).toEqual([]);
  });
});

describe("R-G1 tuple deltas above OpenFGA's 100-tuple write limit", () => {
  let t: TestContext;
  contextHooks((c) => {
    t = c;
  });

  async function memberWithManyGrants(n: number) {
    const org = await createOrg(t);
    const partner = await createOrg(t);
    const ids = await parks(
      t,
      org.id,
      org.portfolioId,
      Array.from({ length: n }, (_, i) => `p${i}-${userId("k")}`),
    );
    const u = await addMember(partner.id);
    const coop = await activeCooperation(t, org.id, partner.id, [
      { resource: { type: "portfolio", id: org.portfolioId }, level: "operator" },
    ]);
    const own = await addMember(org.id);
    await grants(
      t,
      ids.map((id) => ({
        resourceType: "park" as const,
        resourceId: id,
        userId: own,
        level: "viewer" as const,
        organizationId: org.id,
      })),
    );
    await grants(t, [
      {
        resourceType: "park",
        resourceId: ids[0]!,
        userId: u,
        level: "viewer",
        organizationId: partner.id,
        cooperationId: coop.id,
      },
    ]);
    return { org, partner, ids, own, delegate: u };
  }

  const addMember = (orgId: string) => addMemberTo(t, orgId, "member");
  /** A member's membership tuples: the role and its organization sets. */
  const MEMBER_TUPLES = membershipTuples({ userId: "x", organizationId: "o", role: "member" }).length;

  it("removing a member with 150 grants removes all their access in one change", async () => {
    const { org, ids, own } = await memberWithManyGrants(150);
    expect(await tuplesOf(t, own)).toHaveLength(150 + MEMBER_TUPLES);
    expect(await allows(t, own, "can_view", `park:${ids[149]}`)).toBe(true);
    const res = await t.request("DELETE", `/v1/organizations/${org.id}/members/${own}`, { actor: org.admin });
    expect(res.status).toBe(204);
    expect(await tuplesOf(t, own)).toEqual([]);
    expect(await t.sql`select 1 from grants where user_id = ${own}`).toHaveLength(0);
    for (const id of [ids[0], ids[99], ids[100], ids[149]]) {
      expect(await allows(t, own, "can_view", `park:${id}`)).toBe(false);
    }
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
  });

  it("R-G2 an engine failure after the first 100-tuple chunk fails the change (503) and the applied chunk is undone at once", async () => {
    const { org, ids, own } = await memberWithManyGrants(150);
    const client = t.engine.admin;
    const write = client.write.bind(client);
    let calls = 0;
    client.write = (async (...args: Parameters<typeof write>) => {
      calls++;
      if (calls === 2) throw new Error("connection reset");
      return write(...args);
    }) as typeof write;
    let res: Response;
    try {
      res = await t.request("DELETE", `/v1/organizations/${org.id}/members/${own}`, { actor: org.admin });
    } finally {
      client.write = write;
    }
    expect(res.status).toBe(503);
    expect(await membershipOf(t, own)).not.toBeNull();
    expect(await t.sql`select 1 from grants where user_id = ${own}`).toHaveLength(150);
    // The compensation wrote the first chunk's 100 tuples back before answering.
    expect(await tuplesOf(t, own)).toHaveLength(150 + MEMBER_TUPLES);
    expect(await allows(t, own, "can_view", `park:${ids[0]}`)).toBe(true);
    expect(await allows(t, own, "can_view", `park:${ids[149]}`)).toBe(true);
    // The journal row goes once the settle pass confirmed the engine agrees.
    await expect
      .poll(async () => (await t.sql`select 1 from engine_journal`).length, { timeout: 10_000 })
      .toBe(0);
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
  });
});

describe("R-G1/R-G3 a reconcile running during a change neither undoes it nor restores revoked access", () => {
  let slow = false;
  let t: TestContext;
  beforeAll(async () => {
    t = await context({
      faults: {
        afterEngineWrite: async () => {
          if (slow) await new Promise((r) => setTimeout(r, 1500));
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Run a change whose commit lags its engine write, and a reconcile inside that window. */
  async function raced(change: () => Promise<{ status: number }>) {
    slow = true;
    try {
      const pending = change();
      await new Promise((r) => setTimeout(r, 500));
      const report = await reconcile(t.deps, { repair: true });
      expect((await pending).status).toBeLessThan(300);
      return report;
    } finally {
      slow = false;
    }
  }

  it("a promotion in flight is not undone", async () => {
    const org = await orgWithRoles(t);
    const report = await raced(() =>
      t.json("PUT", roleUrl(org.id, org.ids.member), { actor: org.admin, body: { role: "moderator" } }),
    );
    expect([report.missing, report.extra]).toEqual([[], []]);
    expect(await allows(t, org.ids.member, "can_manage_members", orgObj(org.id))).toBe(true);
  });

  it("a removal in flight is not reverted into a stale allow", async () => {
    const org = await orgWithRoles(t);
    const report = await raced(() =>
      t.request("DELETE", `/v1/organizations/${org.id}/members/${org.ids.external}`, { actor: org.admin }),
    );
    expect([report.missing, report.extra]).toEqual([[], []]);
    expect(await allows(t, org.ids.external, "can_view", orgObj(org.id))).toBe(false);
    const after = await reconcile(t.deps, { repair: false });
    expect([after.missing, after.extra]).toEqual([[], []]);
  });
});
