import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JOB_LEVELS, type JobLevel, levelMeet } from "../../src/engine/permissions.js";
import { impliedLevels } from "../../src/kernel/tuples.js";
import { isLive, type ResourceSnapshot } from "../../src/modules/explain/facts.js";
import { resourceHints } from "../../src/modules/explain/hints.js";
import { levelPaths, maximalLevels, maximalOf, resourcePaths } from "../../src/modules/explain/reasons.js";

const now = new Date("2026-06-01T12:00:00Z");
const park = { type: "park" as const, id: "k1" };
const pf = { type: "portfolio" as const, id: "pf" };

/** Owner O owns park k1 in portfolio pf; cooperation c (O → P) shares the park and the portfolio. */
function world(o: {
  parkShare: JobLevel;
  pfShare: JobLevel;
  delegated: JobLevel;
  role?: "member" | "external";
}) {
  const snap: ResourceSnapshot = {
    resource: { ...park, organizationId: "O", portfolioId: "pf" },
    memberships: new Map([["u", { userId: "u", organizationId: "P", role: o.role ?? "member" }]]),
    grants: [{ on: park, userId: "u", level: o.delegated, cooperationId: "c" }],
    shares: [
      { cooperationId: "c", on: park, level: o.parkShare },
      { cooperationId: "c", on: pf, level: o.pfShare },
    ],
    cooperations: new Map([
      [
        "c",
        { id: "c", ownerOrganizationId: "O", partnerOrganizationId: "P", state: "active", expiresAt: null },
      ],
    ]),
  };
  return snap;
}

const level = fc.constantFrom(...JOB_LEVELS);

describe("explain reasons (pure)", () => {
  it("R-O2 maximal levels: both managers are both, never operator", () => {
    expect(maximalOf(new Set(["technical_manager", "asset_manager", "viewer"]))).toEqual([
      "technical_manager",
      "asset_manager",
    ]);
    expect(maximalOf(new Set(impliedLevels("operator")))).toEqual(["operator"]);
    expect(maximalOf(new Set())).toEqual([]);
  });

  it("R-C9 a park delegation is capped by the share on the park or its portfolio: the union of the meets", () => {
    fc.assert(
      fc.property(level, level, level, (p, q, d) => {
        const paths = levelPaths(world({ parkShare: p, pfShare: q, delegated: d }), "u", now);
        const expected = new Set([...impliedLevels(levelMeet(d, p)), ...impliedLevels(levelMeet(d, q))]);
        expect(maximalLevels(paths)).toEqual(maximalOf(expected));
      }),
    );
  });

  it("R-O4 a partner external's delegation is viewer at most", () => {
    fc.assert(
      fc.property(level, level, (p, d) => {
        const snap = world({ parkShare: p, pfShare: p, delegated: d, role: "external" });
        expect(maximalLevels(levelPaths(snap, "u", now))).toEqual(["viewer"]);
      }),
    );
  });

  it("R-C5 R-C6 expiry takes effect at the instant expiresAt passes", () => {
    const c = { id: "c", ownerOrganizationId: "O", partnerOrganizationId: "P", state: "active" as const };
    expect(isLive({ ...c, expiresAt: new Date(now.getTime() + 1) }, now)).toBe(true);
    expect(isLive({ ...c, expiresAt: now }, now)).toBe(false);
    expect(isLive({ ...c, state: "paused", expiresAt: null }, now)).toBe(false);
  });

  it("a deny always says what is missing; an allow never needs to", () => {
    const actions = [
      "can_view",
      "can_close_ticket",
      "can_configure_settings",
      "can_share",
      "can_manage_access",
      "x",
    ];
    fc.assert(
      fc.property(level, level, level, fc.constantFrom(...actions), (p, q, d, action) => {
        const snap = world({ parkShare: p, pfShare: q, delegated: d });
        const allowed = resourcePaths(snap, "u", action, now).length > 0;
        if (!allowed) expect(resourceHints(snap, "u", action, now).length).toBeGreaterThan(0);
      }),
    );
  });
});
