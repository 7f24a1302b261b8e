import { describe, expect, it } from "vitest";
import { lockOrganization } from "../../src/modules/organizations/repo.js";
import type { TestContext } from "../support/app.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import { activeCooperation, contextHooks } from "../support/org-factories.js";
import { createPark, createPortfolio } from "../support/resource-factories.js";

/**
 * One lock order for every multi-row verb (src/engine-sync/lock-order.ts): verbs
 * that used to lock resource → cooperation and cooperation → resource raced
 * into deadlocks (503 transaction-conflict). Many rounds of each race, no 5xx.
 */

const ROUNDS = 12;

describe("one lock order: races between multi-row verbs answer no 5xx", () => {
  let t: TestContext;
  contextHooks((c) => {
    t = c;
  });

  const noServerErrors = (answers: { what: string; status: number; body: string }[]) => {
    const bad = answers.filter((a) => a.status >= 500);
    expect(bad, JSON.stringify(bad.slice(0, 3))).toEqual([]);
  };
  const call = async (what: string, method: string, path: string, actor: string, body?: unknown) => {
    const res = await t.request(method, path, { actor, body });
    return { what, status: res.status, body: await res.text() };
  };

  it("share put/delete and cooperation end against park delete and move", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const other = await createPortfolio(t, owner.admin, owner.id);
    const answers: { what: string; status: number; body: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const park = await createPark(t, owner.admin, owner.portfolioId);
      const coop = await activeCooperation(t, owner.id, partner.id, [
        { resource: { type: "park", id: park }, level: "viewer" },
        { resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" },
      ]);
      const share = `/v1/cooperations/${coop.id}/shares/park/${park}`;
      const verbs = [
        () => call("share put", "PUT", share, owner.admin, { level: "operator" }),
        () => call("share delete", "DELETE", share, owner.admin),
        () => call("end", "POST", `/v1/cooperations/${coop.id}/end`, owner.admin),
        () =>
          round % 2
            ? call("park delete", "DELETE", `/v1/parks/${park}`, owner.admin)
            : call("park move", "PUT", `/v1/parks/${park}`, owner.admin, {
                portfolioId: other,
                name: "moved",
              }),
      ];
      // Pairs and the full set, in both start orders.
      const [a, b, c, d] = verbs as [
        () => Promise<(typeof answers)[0]>,
        ...(() => Promise<(typeof answers)[0]>)[],
      ];
      answers.push(...(await Promise.all(round % 3 === 0 ? [d!(), a(), b!(), c!()] : [a(), d!(), c!()])));
    }
    noServerErrors(answers);
    expect(answers.filter((x) => x.status < 300).length).toBeGreaterThan(ROUNDS);
    const { reconcile } = await import("../../src/engine-sync/reconcile.js");
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
  }, 120_000);

  it("member removal and role change against grants to that member", async () => {
    const org = await createOrg(t);
    const answers: { what: string; status: number; body: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const park = await createPark(t, org.admin, org.portfolioId);
      const member = await addMemberTo(t, org.id, "asset_manager_technical");
      const grant = `/v1/parks/${park}/grants/${member}`;
      answers.push(
        ...(await Promise.all([
          call("grant", "PUT", grant, org.admin, { level: "operator" }),
          round % 2
            ? call("remove", "DELETE", `/v1/organizations/${org.id}/members/${member}`, org.admin)
            : call("role", "PUT", `/v1/organizations/${org.id}/members/${member}/role`, org.admin, {
                role: "member",
              }),
          call("grant again", "PUT", grant, org.admin, { level: "viewer" }),
        ])),
      );
    }
    noServerErrors(answers);
    const { reconcile } = await import("../../src/engine-sync/reconcile.js");
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
  }, 120_000);

  it("the organization row lock of a membership change does not block an unrelated grant insert", async () => {
    const org = await createOrg(t);
    const park = await createPark(t, org.admin, org.portfolioId);
    const member = await addMemberTo(t, org.id, "asset_manager_technical");
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    // What a membership change holds until it commits.
    const holder = t.sql.begin(async (tx) => {
      await lockOrganization(tx as never, org.id);
      locked();
      await held;
    });
    await isLocked;
    try {
      const grant = t.request("PUT", `/v1/parks/${park}/grants/${member}`, {
        actor: org.admin,
        body: { level: "viewer" },
      });
      const outcome = await Promise.race([
        grant.then((r) => r.status),
        new Promise<string>((r) => setTimeout(() => r("still waiting on the organization row"), 20_000)),
      ]);
      expect(outcome).toBe(201);
    } finally {
      release();
      await holder;
    }
  }, 60_000);
});
