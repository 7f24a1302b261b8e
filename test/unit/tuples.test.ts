import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { engineObject, engineUser } from "../../src/engine/ids.js";
import {
  JOB_LEVELS,
  levelAtLeast,
  ORG_ROLES,
  ROLE_BASELINE,
  STAFF_ROLES,
} from "../../src/engine/permissions.js";
import {
  cooperationTuples,
  diffTuples,
  grantTuples,
  impliedLevels,
  membershipTuples,
  PLATFORM_OBJECT,
  parkTuples,
  portfolioTuples,
  roleSets,
  shareTuples,
  staffTuples,
  type Tuple,
  tupleKey,
} from "../../src/kernel/tuples.js";

const level = fc.constantFrom(...JOB_LEVELS);
const tuple: fc.Arbitrary<Tuple> = fc.record({
  user: fc.constantFrom("user:a", "user:b", "organization:o"),
  relation: fc.constantFrom("grant_viewer", "grant_operator", "partner"),
  object: fc.constantFrom("park:p", "portfolio:f", "cooperation:c"),
});

function apply(state: Tuple[], d: { writes: Tuple[]; deletes: Tuple[] }): string[] {
  const keys = new Map(state.map((t) => [tupleKey(t), JSON.stringify(t)]));
  for (const t of d.deletes) keys.delete(tupleKey(t));
  for (const t of d.writes) keys.set(tupleKey(t), JSON.stringify(t));
  return [...keys.values()].sort();
}

describe("tuple mappers", () => {
  it("R-O2 impliedLevels is exactly the lattice's down-set of a level", () => {
    fc.assert(
      fc.property(level, level, (held, other) => {
        expect(impliedLevels(held).includes(other)).toBe(levelAtLeast(held, other));
      }),
    );
  });

  it("grants, delegations and shares write one tuple per implied level", () => {
    const g = grantTuples({
      resourceType: "park",
      resourceId: "p",
      userId: "u",
      level: "technical_manager",
      cooperationId: null,
    });
    expect(g.map((t) => t.relation)).toEqual(["grant_technical_manager", "grant_viewer"]);
    const d = grantTuples({
      resourceType: "portfolio",
      resourceId: "f",
      userId: "u",
      level: "asset_manager",
      cooperationId: "c",
    });
    expect(d.map((t) => `${t.object}#${t.relation}`)).toEqual([
      "portfolio:f#delegated_asset_manager",
      "portfolio:f#delegated_viewer",
    ]);
    const s = shareTuples({ cooperationId: "c", resourceType: "park", resourceId: "p", level: "operator" });
    expect(s.map((t) => t.user)).toEqual(Array(4).fill("cooperation:c"));
  });

  it("diffTuples turns any before into any after (a changed condition is delete + write)", () => {
    const withCond = fc
      .tuple(tuple, fc.option(fc.constantFrom("2030-01-01T00:00:00.000Z", "2031-01-01T00:00:00.000Z")))
      .map(([t, at]) => (at ? { ...t, condition: { name: "not_expired", context: { expires_at: at } } } : t));
    const uniq = (ts: Tuple[]) => [...new Map(ts.map((t) => [tupleKey(t), t])).values()];
    fc.assert(
      fc.property(fc.array(withCond), fc.array(withCond), (a, b) => {
        const before = uniq(a);
        const after = uniq(b);
        expect(apply(before, diffTuples(before, after))).toEqual(after.map((t) => JSON.stringify(t)).sort());
      }),
    );
  });

  it("R-C5 R-C6 only an active cooperation has a partner tuple; an expiry becomes its condition", () => {
    const base = { id: "c", ownerOrganizationId: "o", partnerOrganizationId: "p", expiresAt: null };
    for (const state of ["pending", "paused"] as const) {
      expect(cooperationTuples({ ...base, state }).map((t) => t.relation)).toEqual(["owner"]);
    }
    expect(cooperationTuples({ ...base, state: "ended" })).toEqual([]);
    const at = new Date("2030-01-01T00:00:00Z");
    const active = cooperationTuples({ ...base, state: "active", expiresAt: at });
    expect(active[1]).toEqual({
      user: "organization:p",
      relation: "partner",
      object: "cooperation:c",
      condition: { name: "not_expired", context: { expires_at: at.toISOString() } },
    });
  });
});

describe("tuple mappers of staff, memberships and resources", () => {
  const id = fc.stringMatching(/^[A-Za-z0-9._@:|-]{1,20}$/);

  it("a staff role is one tuple on the platform object", () => {
    fc.assert(
      fc.property(id, fc.constantFrom(...STAFF_ROLES), (userId, role) => {
        expect(staffTuples({ userId, role })).toEqual([
          { user: engineUser(userId), relation: `staff_${role}`, object: PLATFORM_OBJECT },
        ]);
      }),
    );
  });

  it("every role is a member; full members are all but externals; a baseline set is the role's baseline and below", () => {
    for (const role of ORG_ROLES) {
      const sets = roleSets(role);
      expect(sets, role).toContain("member");
      expect(sets.includes("full_member"), role).toBe(role !== "external");
      const baseline = ROLE_BASELINE[role];
      const baselines = sets.filter((s) => s.startsWith("baseline_")).map((s) => s.slice("baseline_".length));
      expect(baselines.sort(), role).toEqual(baseline ? [...impliedLevels(baseline)].sort() : []);
      expect(new Set(sets).size, role).toBe(sets.length);
    }
  });

  it("a membership writes its role and every set of the role, on the organization, in engine ids", () => {
    fc.assert(
      fc.property(id, id, fc.constantFrom(...ORG_ROLES), (userId, organizationId, role) => {
        const tuples = membershipTuples({ userId, organizationId, role });
        expect(tuples.map((t) => t.relation)).toEqual([`role_${role}`, ...roleSets(role)]);
        for (const t of tuples) {
          expect(t).toEqual({
            user: engineUser(userId),
            relation: t.relation,
            object: engineObject("organization", organizationId),
          });
        }
      }),
    );
  });

  it("a portfolio is owned by its organization; a park by its organization and in its portfolio", () => {
    fc.assert(
      fc.property(id, id, id, (resourceId, organizationId, portfolioId) => {
        const org = engineObject("organization", organizationId);
        expect(portfolioTuples({ id: resourceId, organizationId })).toEqual([
          { user: org, relation: "owner", object: engineObject("portfolio", resourceId) },
        ]);
        expect(parkTuples({ id: resourceId, organizationId, portfolioId })).toEqual([
          { user: org, relation: "owner", object: engineObject("park", resourceId) },
          {
            user: engineObject("portfolio", portfolioId),
            relation: "portfolio",
            object: engineObject("park", resourceId),
          },
        ]);
      }),
    );
  });

  it("an ended cooperation has no tuples; a pending or paused one only its owner", () => {
    const base = { id: "c:1", ownerOrganizationId: "o:1", partnerOrganizationId: "o:2", expiresAt: null };
    expect(cooperationTuples({ ...base, state: "ended" })).toEqual([]);
    for (const state of ["pending", "paused"] as const) {
      expect(cooperationTuples({ ...base, state })).toEqual([
        { user: "organization:o~1", relation: "owner", object: "cooperation:c~1" },
      ]);
    }
    // Active without a partner organization yet (an email invitation): the owner alone.
    expect(cooperationTuples({ ...base, partnerOrganizationId: null, state: "active" })).toHaveLength(1);
  });

  it("tupleKey tells tuples apart by object, relation and user, not by condition", () => {
    const t = { user: "user:a", relation: "r", object: "park:p" };
    expect(tupleKey(t)).toBe("park:p#r@user:a");
    expect(tupleKey({ ...t, condition: { name: "not_expired", context: {} } })).toBe(tupleKey(t));
    expect(
      new Set(
        [t, { ...t, user: "user:b" }, { ...t, relation: "s" }, { ...t, object: "park:q" }].map(tupleKey),
      ).size,
    ).toBe(4);
  });
});
