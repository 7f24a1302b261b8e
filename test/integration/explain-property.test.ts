import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  JOB_LEVELS,
  type JobLevel,
  ORG_PERMISSIONS,
  PLATFORM_PERMISSIONS,
  PUBLIC_PERMISSIONS,
  type ResourceType,
} from "../../src/engine/permissions.js";
import type { TestContext } from "../support/app.js";
import { activeCooperation, decide, delegate, share } from "../support/coop-factories.js";
import { explained, patient } from "../support/explain-factories.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";
import { contextHooks, sysadmin } from "../support/org-factories.js";
import { createPark, createPortfolio } from "../support/resource-factories.js";

/**
 * By property, over a few random small platforms built through the API and
 * the domain verbs: explain's decision is /access/v1/evaluation's, the
 * database and the engine agree (consistent), and reasons are non-empty
 * exactly when the decision allows (a deny always says what is missing).
 */

let t: TestContext;
let sys: string;
contextHooks(async (c) => {
  t = c;
  sys = await sysadmin(t);
});

const level = fc.constantFrom(...JOB_LEVELS);
const slot = fc.nat({ max: 2 }); // which of the three resources (portfolio, park in it, park in a second portfolio)
const spec = fc.record({
  ownerRoles: fc.array(
    fc.constantFrom("moderator", "asset_manager_technical", "asset_manager_commercial", "member", "external"),
    { minLength: 2, maxLength: 3 },
  ),
  partnerRoles: fc.array(fc.constantFrom("member", "external", "asset_manager_technical"), {
    minLength: 1,
    maxLength: 2,
  }),
  grants: fc.array(fc.record({ user: fc.nat(), on: slot, level }), { maxLength: 4 }),
  shares: fc.array(fc.option(level, { nil: null }), { minLength: 3, maxLength: 3 }),
  delegations: fc.array(fc.record({ user: fc.nat(), on: slot, level }), { maxLength: 3 }),
  paused: fc.boolean(),
  // R-C5: an expiry ahead (the conditioned partner tuple); R-H1: the second park moves into the first portfolio.
  expires: fc.boolean(),
  move: fc.boolean(),
  // A later role change (R-O4: a member demoted to external keeps grants above viewer).
  demote: fc.option(fc.nat(), { nil: null }),
  picks: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
});

const resourceActions = [...PUBLIC_PERMISSIONS.park!];
const orgActions = Object.keys(ORG_PERMISSIONS);
const platformActions = Object.keys(PLATFORM_PERMISSIONS);

type Spec = typeof spec extends fc.Arbitrary<infer T> ? T : never;

async function build(s: Spec) {
  const owner = await createOrg(t);
  const partner = await createOrg(t);
  const pf2 = await createPortfolio(t, owner.admin, owner.id);
  const k1 = await createPark(t, owner.admin, owner.portfolioId);
  const k2 = await createPark(t, owner.admin, pf2);
  const slots: { type: ResourceType; id: string }[] = [
    { type: "portfolio", id: owner.portfolioId },
    { type: "park", id: k1 },
    { type: "park", id: k2 },
  ];
  const own = [];
  for (const role of s.ownerRoles) own.push(await addMemberTo(t, owner.id, role));
  const theirs = [];
  for (const role of s.partnerRoles) theirs.push(await addMemberTo(t, partner.id, role));
  for (const g of s.grants) {
    const u = own[g.user % own.length]!;
    const on = slots[g.on]!;
    // Refusals (R-O4: above viewer for an external) are part of the world too.
    await t.json("PUT", `/v1/${on.type}s/${on.id}/grants/${u}`, {
      actor: owner.admin,
      body: { level: g.level },
    });
  }
  const shares = s.shares.flatMap((l: JobLevel | null, i: number) =>
    l ? [share(slots[i]!.type, slots[i]!.id, l as JobLevel)] : [],
  );
  const coop = await activeCooperation(t, { owner: owner.id, partner: partner.id, shares });
  for (const d of s.delegations) {
    const u = theirs[d.user % theirs.length]!;
    await delegate(t, { actor: partner.admin, resource: slots[d.on]!, userId: u, level: d.level });
  }
  if (s.demote !== null) {
    const u = own[s.demote % own.length]!;
    await t.json("PUT", `/v1/organizations/${owner.id}/members/${u}/role`, {
      actor: owner.admin,
      body: { role: "external" },
    });
  }
  if (s.move) {
    const body = { portfolioId: owner.portfolioId, name: "moved" };
    expect((await t.json("PUT", `/v1/parks/${k2}`, { actor: owner.admin, body })).status).toBe(200);
  }
  if (s.expires) {
    const body = { expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    expect((await t.json("PATCH", `/v1/cooperations/${coop.id}`, { actor: owner.admin, body })).status).toBe(
      200,
    );
  }
  if (s.paused) await t.json("POST", `/v1/cooperations/${coop.id}/pause`, { actor: owner.admin });
  const users = [owner.admin, ...own, partner.admin, ...theirs, userId("stranger"), sys];
  const targets = [
    ...slots.map((r) => ({ r, actions: resourceActions })),
    { r: { type: "portfolio", id: pf2 }, actions: resourceActions },
    { r: { type: "organization", id: owner.id }, actions: orgActions },
    { r: { type: "organization", id: partner.id }, actions: orgActions },
    { r: { type: "platform", id: "default" }, actions: platformActions },
  ];
  return { users, targets, ownerAdmin: owner.admin };
}

describe("explain agrees with the decision endpoint (property)", () => {
  it("decision = /access/v1/evaluation, consistent, reasons non-empty exactly when it allows", async () => {
    const seen = { allow: 0, deny: 0 };
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const { users, targets, ownerAdmin } = await build(s);
        let pick = 0;
        const next = (n: number) => s.picks[pick++ % s.picks.length]! % n;
        for (const user of users) {
          for (const { r, actions } of targets) {
            for (const action of [actions[next(actions.length)]!, actions[next(actions.length)]!]) {
              const e = await explained(t, sys, user, action, r);
              const label = `${user} ${action} ${r.type}:${r.id}: ${JSON.stringify(e)}`;
              expect(e.decision, label).toBe(await decide(t, user, action, `${r.type}:${r.id}`));
              expect(e.consistent, label).toBe(true);
              expect(e.reasons.length > 0, label).toBe(e.decision);
              if (!e.decision) expect(e.missing.length, label).toBeGreaterThan(0);
              seen[e.decision ? "allow" : "deny"]++;
            }
            // The access list of a park or portfolio agrees with the engine for everyone on it.
            if (r.type === "park" || r.type === "portfolio") {
              const list = await patient(t, "GET", `/v1/${r.type}s/${r.id}/access?limit=500`, {
                actor: ownerAdmin,
              });
              expect(list.status, JSON.stringify(list.body)).toBe(200);
              for (const item of list.body.items) expect(item.consistent, JSON.stringify(item)).toBe(true);
            }
          }
        }
      }),
      { numRuns: Number(process.env.EXPLAIN_PROPERTY_RUNS ?? 4), endOnFailure: true },
    );
    expect(seen.allow).toBeGreaterThan(10);
    expect(seen.deny).toBeGreaterThan(10);
  }, 240_000);
});
