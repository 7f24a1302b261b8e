import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../support/app.js";
import { parkIn } from "../support/coop-factories.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";

/**
 * Single decisions that find every engine slot taken are coalesced into
 * BatchChecks (src/engine/coalesce.ts): same answers as one Check each, fewer
 * engine calls.
 */
describe("coalesced checks against the real engine", () => {
  let t: TestContext;
  let org: { id: string; admin: string; portfolioId: string };
  let member: string;
  const outsider = userId("outsider");
  const parks: string[] = [];
  beforeAll(async () => {
    // Eight engine slots (batches of up to four): most of 24 concurrent decisions find them taken.
    t = await createTestContext({
      config: { DECISION_CACHE_SIZE: "0", OPENFGA_TIMEOUT_MS: "5000", ENGINE_MAX_IN_FLIGHT: "8" },
    });
    org = await createOrg(t);
    member = await addMemberTo(t, org.id, "member");
    for (let i = 0; i < 4; i++)
      parks.push(await parkIn(t, { organizationId: org.id, portfolioId: org.portfolioId }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const question = (user: string, action: string, park: string) => ({
    subject: { type: "user", id: user },
    action: { name: action },
    resource: { type: "park", id: park },
  });

  it("answers like one Check each, in fewer engine calls", async () => {
    const questions = parks.flatMap((p) =>
      [org.admin, member, outsider].flatMap((u) =>
        ["can_view", "can_manage_access"].map((a) => question(u, a, p)),
      ),
    );
    const one = async (q: ReturnType<typeof question>) => {
      const res = await t.json("POST", "/access/v1/evaluation", { body: q, key: "decide" });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.decision as boolean;
    };
    // One at a time: no two checks share a turn, each is a plain Check.
    const sequential: boolean[] = [];
    for (const q of questions) sequential.push(await one(q));
    const before = { ...t.engine.coalescer.stats };
    const concurrent = await Promise.all(questions.map(one));
    const after = t.engine.coalescer.stats;
    expect(concurrent).toEqual(sequential);
    // The admin views and manages every park; a member without a grant and an outsider nothing.
    expect(sequential.filter(Boolean).length).toBe(parks.length * 2);
    const calls = after.singles - before.singles + (after.batches - before.batches);
    expect(after.batchedChecks - before.batchedChecks).toBeGreaterThan(0);
    expect(calls).toBeLessThan(questions.length);
  });

  it("an id the engine refuses in a coalesced batch is a deny for that decision only", async () => {
    const bad = question(org.admin, "can_view", "p".repeat(120));
    const good = question(org.admin, "can_view", parks[0]!);
    const [r1, r2] = await Promise.all([
      t.json("POST", "/access/v1/evaluation", { body: bad, key: "decide" }),
      t.json("POST", "/access/v1/evaluation", { body: good, key: "decide" }),
    ]);
    expect([r1.status, r1.body.decision]).toEqual([200, false]);
    expect([r2.status, r2.body.decision]).toEqual([200, true]);
  });
});
