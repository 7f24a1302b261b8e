import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cooperationTuples,
  diffTuples,
  grantTuples,
  impliedLevels,
  shareTuples,
  type Tuple,
  tupleKey,
} from "../../src/domain/tuples.js";
import { JOB_LEVELS, levelAtLeast } from "../../src/engine/permissions.js";

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
