/** Property tests for the job-level lattice (SPEC §1, R-O2, R-C8, R-C9). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  JOB_LEVELS,
  type JobLevel,
  LEVEL_PERMISSIONS,
  levelAtLeast,
  levelMeet,
} from "../../src/engine/permissions.js";

const level = fc.constantFrom<JobLevel>(...JOB_LEVELS);

describe("levelAtLeast (the partial order)", () => {
  it("is reflexive", () => {
    fc.assert(fc.property(level, (a) => levelAtLeast(a, a)));
  });

  it("is antisymmetric", () => {
    fc.assert(
      fc.property(level, level, (a, b) => {
        if (levelAtLeast(a, b) && levelAtLeast(b, a)) expect(a).toBe(b);
      }),
    );
  });

  it("is transitive", () => {
    fc.assert(
      fc.property(level, level, level, (a, b, c) => {
        if (levelAtLeast(a, b) && levelAtLeast(b, c)) expect(levelAtLeast(a, c)).toBe(true);
      }),
    );
  });

  it("has operator on top and viewer at the bottom", () => {
    fc.assert(fc.property(level, (a) => levelAtLeast("operator", a) && levelAtLeast(a, "viewer")));
  });

  it("keeps technical_manager and asset_manager as incomparable peers (R-C8)", () => {
    expect(levelAtLeast("technical_manager", "asset_manager")).toBe(false);
    expect(levelAtLeast("asset_manager", "technical_manager")).toBe(false);
  });

  it("is monotone with SPEC §2: a higher level has every permission of a lower one", () => {
    fc.assert(
      fc.property(level, level, fc.constantFrom(...Object.keys(LEVEL_PERMISSIONS)), (a, b, permission) => {
        const holders = LEVEL_PERMISSIONS[permission] ?? [];
        if (levelAtLeast(a, b) && holders.includes(b)) expect(holders).toContain(a);
      }),
    );
  });
});

describe("levelMeet (the live cap, R-C9)", () => {
  it("is commutative", () => {
    fc.assert(fc.property(level, level, (a, b) => levelMeet(a, b) === levelMeet(b, a)));
  });

  it("is associative", () => {
    fc.assert(
      fc.property(
        level,
        level,
        level,
        (a, b, c) => levelMeet(levelMeet(a, b), c) === levelMeet(a, levelMeet(b, c)),
      ),
    );
  });

  it("is idempotent", () => {
    fc.assert(fc.property(level, (a) => levelMeet(a, a) === a));
  });

  it("is <= both arguments", () => {
    fc.assert(
      fc.property(level, level, (a, b) => {
        const m = levelMeet(a, b);
        return levelAtLeast(a, m) && levelAtLeast(b, m);
      }),
    );
  });

  it("is the greatest lower bound", () => {
    fc.assert(
      fc.property(level, level, level, (a, b, c) => {
        if (levelAtLeast(a, c) && levelAtLeast(b, c)) expect(levelAtLeast(levelMeet(a, b), c)).toBe(true);
      }),
    );
  });

  it("equals the lower argument when the arguments are comparable", () => {
    fc.assert(
      fc.property(level, level, (a, b) => {
        if (levelAtLeast(a, b)) expect(levelMeet(a, b)).toBe(b);
      }),
    );
  });

  it("has operator as identity and viewer as absorbing element", () => {
    fc.assert(
      fc.property(level, (a) => levelMeet("operator", a) === a && levelMeet("viewer", a) === "viewer"),
    );
  });

  it("gives viewer for the two peers", () => {
    expect(levelMeet("technical_manager", "asset_manager")).toBe("viewer");
    expect(levelMeet("asset_manager", "technical_manager")).toBe("viewer");
  });

  it("never grants a permission that one of the two levels lacks (SPEC §2)", () => {
    fc.assert(
      fc.property(level, level, (a, b) => {
        const m = levelMeet(a, b);
        for (const holders of Object.values(LEVEL_PERMISSIONS)) {
          if (holders.includes(m)) expect(holders.includes(a) && holders.includes(b)).toBe(true);
        }
      }),
    );
  });

  it("caps at the level, not at the permissions: the peers' common columns are not kept (R-C9)", () => {
    // Both managers have can_edit_details, but their meet is viewer, which does not.
    expect(LEVEL_PERMISSIONS.can_edit_details).toEqual(
      expect.arrayContaining(["technical_manager", "asset_manager"]),
    );
    expect(LEVEL_PERMISSIONS.can_edit_details).not.toContain(levelMeet("technical_manager", "asset_manager"));
  });
});
