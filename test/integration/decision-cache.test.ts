import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metrics } from "../../src/metrics.js";
import { createReplica, createTestContext, type Replica, type TestContext } from "../support/app.js";
import { parkIn } from "../support/coop-factories.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import { createActiveCooperation, grant } from "../support/resource-factories.js";

/**
 * R-G1 with the decision cache on: two service instances on one database and
 * one OpenFGA store. For every revoke path, both have the allow cached; the
 * revoke goes through one; the very next decision on each is a deny.
 */

const hits = async () => (await metrics().decisionCacheHits.get()).values[0]?.value ?? 0;

describe("decision cache freshness across replicas (R-G1)", () => {
  let t: TestContext;
  let b: Replica;
  let owner: { id: string; admin: string; portfolioId: string };
  let park1: string;
  let park2: string;
  let park3: string;
  const decideA = async (user: string, action: string, park: string) => {
    const res = await t.json("POST", "/access/v1/evaluation", {
      key: "decide",
      body: {
        subject: { type: "user", id: user },
        action: { name: action },
        resource: { type: "park", id: park },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.decision as boolean;
  };

  /** Allow on both (the second round answered from each cache), revoke through A, deny on both at once. */
  async function revokeIsSeen(
    user: string,
    action: string,
    park: string,
    revoke: () => Promise<{ status: number; body: unknown }>,
  ) {
    expect(await decideA(user, action, park)).toBe(true);
    expect(await b.decide(user, action, "park", park)).toBe(true);
    const before = await hits();
    expect(await decideA(user, action, park)).toBe(true);
    expect(await b.decide(user, action, "park", park)).toBe(true);
    expect(await hits()).toBe(before + 2);
    const r = await revoke();
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    expect(await b.decide(user, action, "park", park)).toBe(false);
    expect(await decideA(user, action, park)).toBe(false);
  }

  const asAdmin = (method: string, path: string, body?: unknown) =>
    t.json(method, path, { actor: owner.admin, body });

  beforeAll(async () => {
    t = await createTestContext();
    b = await createReplica(t);
    owner = await createOrg(t);
    park1 = await parkIn(t, { organizationId: owner.id, portfolioId: owner.portfolioId });
    park2 = await parkIn(t, { organizationId: owner.id, portfolioId: owner.portfolioId });
    park3 = await parkIn(t, { organizationId: owner.id, portfolioId: owner.portfolioId });
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it("caches: a repeated decision is a hit on each replica", async () => {
    expect(t.decisions.enabled).toBe(true);
    expect(b.decisions.enabled).toBe(true);
    expect(await decideA(owner.admin, "can_view", park1)).toBe(true);
    const before = await hits();
    expect(await decideA(owner.admin, "can_view", park1)).toBe(true);
    expect(await hits()).toBe(before + 1);
  });

  it("grant removed", async () => {
    const m = await addMemberTo(t, owner.id, "member");
    await grant(t, owner.admin, "park", park1, m, "viewer");
    await revokeIsSeen(m, "can_view", park1, () => asAdmin("DELETE", `/v1/parks/${park1}/grants/${m}`));
  });

  it("member removed", async () => {
    const m = await addMemberTo(t, owner.id, "member");
    await grant(t, owner.admin, "park", park1, m, "viewer");
    await revokeIsSeen(m, "can_view", park1, () =>
      asAdmin("DELETE", `/v1/organizations/${owner.id}/members/${m}`),
    );
  });

  it("role lowered", async () => {
    const m = await addMemberTo(t, owner.id, "asset_manager_technical");
    await revokeIsSeen(m, "can_view", park1, () =>
      asAdmin("PUT", `/v1/organizations/${owner.id}/members/${m}/role`, { role: "member" }),
    );
  });

  it("share lowered and share removed", async () => {
    const partner = await createOrg(t);
    const coop = await createActiveCooperation(t, owner.id, partner.id, [
      { resource: { type: "park", id: park2 }, level: "operator" },
      { resource: { type: "park", id: park3 }, level: "viewer" },
    ]);
    await revokeIsSeen(partner.admin, "can_use_vpn", park2, () =>
      asAdmin("PUT", `/v1/cooperations/${coop}/shares/park/${park2}`, { level: "viewer" }),
    );
    await revokeIsSeen(partner.admin, "can_view", park3, () =>
      asAdmin("DELETE", `/v1/cooperations/${coop}/shares/park/${park3}`),
    );
  });

  it("cooperation paused, and ended", async () => {
    const p1 = await createOrg(t);
    const c1 = await createActiveCooperation(t, owner.id, p1.id, [
      { resource: { type: "park", id: park1 }, level: "viewer" },
    ]);
    await revokeIsSeen(p1.admin, "can_view", park1, () => asAdmin("POST", `/v1/cooperations/${c1}/pause`));
    const p2 = await createOrg(t);
    const c2 = await createActiveCooperation(t, owner.id, p2.id, [
      { resource: { type: "park", id: park1 }, level: "viewer" },
    ]);
    await revokeIsSeen(p2.admin, "can_view", park1, () => asAdmin("POST", `/v1/cooperations/${c2}/end`));
  });

  it("a cooperation expiring ahead: cached allows end at the expiry on both replicas", async () => {
    const p = await createOrg(t);
    const c = await createActiveCooperation(t, owner.id, p.id, [
      { resource: { type: "park", id: park1 }, level: "viewer" },
    ]);
    const expiresAt = new Date(Date.now() + 1500);
    const r = await asAdmin("PATCH", `/v1/cooperations/${c}`, { expiresAt: expiresAt.toISOString() });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Cached on both, with no change after it.
    for (let i = 0; i < 2; i++) {
      expect(await decideA(p.admin, "can_view", park1)).toBe(true);
      expect(await b.decide(p.admin, "can_view", "park", park1)).toBe(true);
    }
    await new Promise((res) => setTimeout(res, Math.max(0, expiresAt.getTime() - Date.now()) + 50));
    expect(await b.decide(p.admin, "can_view", "park", park1)).toBe(false);
    expect(await decideA(p.admin, "can_view", park1)).toBe(false);
  });
});

describe("decision cache bounds", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { DECISION_CACHE_SIZE: "3" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("holds at most DECISION_CACHE_SIZE entries (LRU) and still answers every decision", async () => {
    const org = await createOrg(t);
    const parks: string[] = [];
    for (let i = 0; i < 5; i++)
      parks.push(await parkIn(t, { organizationId: org.id, portfolioId: org.portfolioId }));
    for (const p of parks) {
      const res = await t.json("POST", "/access/v1/evaluation", {
        key: "decide",
        body: {
          subject: { type: "user", id: org.admin },
          action: { name: "can_view" },
          resource: { type: "park", id: p },
        },
      });
      expect(res.body).toEqual({ decision: true });
    }
    expect(t.decisions.entries).toBe(3);
  });

  it("DECISION_CACHE_SIZE=0 turns it off", async () => {
    const off = await createTestContext({ config: { DECISION_CACHE_SIZE: "0" } });
    try {
      expect(off.decisions.enabled).toBe(false);
      const org = await createOrg(off);
      const body = {
        subject: { type: "user", id: org.admin },
        action: { name: "can_view" },
        resource: { type: "organization", id: org.id },
      };
      const before = await hits();
      for (let i = 0; i < 3; i++)
        expect((await off.json("POST", "/access/v1/evaluation", { key: "decide", body })).body).toEqual({
          decision: true,
        });
      expect(await hits()).toBe(before);
      expect(off.decisions.entries).toBe(0);
    } finally {
      await off.close();
    }
  });
});
