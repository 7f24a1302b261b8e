import { describe, expect, it } from "vitest";
import { EvaluationRequest, parseEvaluation } from "../../src/modules/decisions/schemas.js";

const e = (type: unknown, id: unknown, more: Record<string, unknown> = {}) => ({ type, id, ...more });
const values: unknown[] = ["user", "", "ü x#y", 1, 0, true, null, undefined, [], ["user"], {}, { a: 1 }];

/** Inputs near the common shape: every field replaced, dropped or given extras in turn. */
function corpus(): unknown[] {
  const base = { subject: e("user", "alice"), action: { name: "can_view" }, resource: e("park", "p-1") };
  const out: unknown[] = [base, { ...base, extra: 1 }, null, [], "x", 3, {}];
  for (const key of ["subject", "resource"] as const) {
    for (const v of values) {
      out.push({ ...base, [key]: v });
      out.push({ ...base, [key]: e(v, "id") });
      out.push({ ...base, [key]: e("t", v) });
      out.push({ ...base, [key]: e("t", "id", { properties: v }) });
      out.push({ ...base, [key]: e("t", "id", { other: v }) });
    }
  }
  for (const v of values) {
    out.push({ ...base, action: v });
    out.push({ ...base, action: { name: v } });
    out.push({ ...base, action: { name: "n", properties: v } });
    out.push({ ...base, action: { name: "n", other: v } });
    out.push({ ...base, context: v });
  }
  const { subject: _s, ...noSubject } = base;
  const { action: _a, ...noAction } = base;
  out.push(noSubject, noAction);
  return out;
}

describe("parseEvaluation is EvaluationRequest.safeParse, faster on the common shape", () => {
  it("gives zod's verdict and data for every input of the corpus", () => {
    for (const x of corpus()) {
      const ours = parseEvaluation(x);
      const zod = EvaluationRequest.safeParse(x);
      expect(ours.success, JSON.stringify(x)).toBe(zod.success);
      if (ours.success && zod.success) expect(ours.data, JSON.stringify(x)).toStrictEqual(zod.data);
      if (!ours.success && !zod.success) expect(ours.error.issues).toEqual(zod.error.issues);
    }
  });

  it("decides the common shape itself (without zod), keeping only what the schema keeps", () => {
    const x = {
      subject: e("user", "a", { x: 1 }),
      action: { name: "can_view", y: 2 },
      resource: e("park", "p"),
      z: 3,
    };
    const r = parseEvaluation(x);
    expect(r).toStrictEqual({
      success: true,
      data: {
        subject: { type: "user", id: "a" },
        action: { name: "can_view" },
        resource: { type: "park", id: "p" },
      },
    });
    // zod's own result object is not the one returned: the shortcut was taken.
    expect(Object.keys(r)).toEqual(["success", "data"]);
  });
});
