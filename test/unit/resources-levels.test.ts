import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JOB_LEVELS, type JobLevel, levelAtLeast, levelMeet } from "../../src/engine/permissions.js";
import {
  effectiveLevel,
  levelsAtOrBelow,
  retryOnDeadlock,
  withinCap,
} from "../../src/modules/resources/levels.js";

const level = fc.constantFrom(...JOB_LEVELS);

describe("resources level helpers", () => {
  it("lists the levels at or below one, greatest first (peers excluded)", () => {
    expect(levelsAtOrBelow("operator")).toEqual(["operator", "technical_manager", "asset_manager", "viewer"]);
    expect(levelsAtOrBelow("technical_manager")).toEqual(["technical_manager", "viewer"]);
    expect(levelsAtOrBelow("asset_manager")).toEqual(["asset_manager", "viewer"]);
    expect(levelsAtOrBelow("viewer")).toEqual(["viewer"]);
  });

  it("R-C8 caps delegation at the share level; peers are not <= each other", () => {
    expect(withinCap(["technical_manager"], "asset_manager")).toBe(false);
    expect(withinCap(["technical_manager"], "operator")).toBe(false);
    expect(withinCap(["technical_manager"], "viewer")).toBe(true);
    expect(withinCap(["asset_manager"], "technical_manager")).toBe(false);
    expect(withinCap(["viewer", "asset_manager"], "asset_manager")).toBe(true);
    expect(withinCap([], "viewer")).toBe(false);
    fc.assert(
      fc.property(
        level,
        level,
        (share, wanted) => withinCap([share], wanted) === levelAtLeast(share, wanted),
      ),
    );
  });

  it("R-C9 the effective level under a live share is the meet of delegated and share level", () => {
    // What the engine grants a delegation under a share: every level <= both.
    fc.assert(
      fc.property(level, level, (delegated: JobLevel, share: JobLevel) => {
        const held = new Set(JOB_LEVELS.filter((l) => levelAtLeast(delegated, l) && levelAtLeast(share, l)));
        return effectiveLevel(delegated, held) === levelMeet(delegated, share);
      }),
    );
    expect(effectiveLevel("technical_manager", new Set())).toBeNull();
    expect(effectiveLevel("viewer", new Set<JobLevel>(["operator"]))).toBeNull();
  });
});

describe("retryOnDeadlock", () => {
  it("retries deadlocks and lock-order conflicts, and nothing else", async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error("deadlock detected"), { code: "40P01" });
      if (calls === 2) throw Object.assign(new Error("could not serialize"), { code: "40001" });
      return "done";
    };
    expect(await retryOnDeadlock(flaky)).toBe("done");
    expect(calls).toBe(3);
    let other = 0;
    await expect(
      retryOnDeadlock(async () => {
        other++;
        throw Object.assign(new Error("unique"), { code: "23505" });
      }),
    ).rejects.toThrow("unique");
    expect(other).toBe(1);
    let always = 0;
    await expect(
      retryOnDeadlock(async () => {
        always++;
        throw Object.assign(new Error("could not serialize"), { code: "40001" });
      }, 3),
    ).rejects.toMatchObject({ code: "40001" });
    expect(always).toBe(3);
  });
});
