import { describe, expect, it } from "vitest";
import { testConfig } from "../../src/config.js";
import type { BatchResult, CheckItem, Engine } from "../../src/engine/client.js";
import type { Deps } from "../../src/kernel/deps.js";
import { paginate } from "../../src/modules/decisions/search.js";
import { engineContext, evaluateMany, toCheck } from "../../src/modules/decisions/service.js";

/** A fake engine: `allowed(item)` decides; records every BatchCheck call. */
function fakeDeps(allowed: (i: CheckItem) => boolean | "error" | "refused", managementEnabled = true) {
  const calls: { items: CheckItem[]; at: Record<string, unknown> }[] = [];
  const engine = {
    async batchCheck(items: CheckItem[], at: Record<string, unknown>): Promise<BatchResult[]> {
      calls.push({ items, at });
      return items.map((i) => {
        const a = allowed(i);
        if (a === "refused")
          return { allowed: false, error: "tuple is missing context parameters", refused: true };
        return a === "error" ? { allowed: false, error: "context deadline exceeded" } : { allowed: a };
      });
    },
  } as unknown as Engine;
  const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
  const deps = { config: testConfig(), managementEnabled, engine, log: silent } as unknown as Deps;
  return { deps, calls };
}

const q = (id: string, action = "can_view", type = "park", rid = "p1") => ({
  subject: { type: "user", id },
  action: { name: action },
  resource: { type, id: rid },
});

describe("decisions: request → engine check", () => {
  it("answers only SPEC §2 permissions with the built-in model", () => {
    const { deps } = fakeDeps(() => true);
    expect(toCheck(deps, q("alice"))).toEqual({
      ok: true,
      item: { user: "user:alice", relation: "can_view", object: "park:p1" },
    });
    for (const bad of [
      q("alice", "lvl_operator"),
      q("alice", "can_view", "cooperation"),
      q("alice", "role_admin", "organization"),
    ]) {
      expect(toCheck(deps, bad)).toMatchObject({ ok: false, malformed: false });
    }
    expect(toCheck(deps, { ...q("alice"), subject: { type: "organization", id: "o" } }).ok).toBe(false);
    for (const id of ["", "a b", "a#b", "x".repeat(129), "user:*"]) {
      expect(toCheck(deps, q(id)).ok, id).toBe(false);
      expect(toCheck(deps, q("alice", "can_view", "park", id)).ok, id).toBe(false);
    }
  });

  it("accepts any well-formed relation with a custom model, never a userset or wildcard", () => {
    const { deps } = fakeDeps(() => true, false);
    expect(toCheck(deps, q("rick", "can_delete_todo", "todo", "1")).ok).toBe(true);
    expect(toCheck(deps, q("rick", "owner#member", "todo", "1"))).toMatchObject({
      ok: false,
      malformed: true,
    });
    expect(toCheck(deps, q("rick", "owner", "todo:x", "1")).ok).toBe(false);
    expect(toCheck(deps, q("rick", "*", "todo", "1")).ok).toBe(false);
  });

  it("R-C6: the request time always wins over a caller's context", () => {
    const now = { current_time: "2030-01-01T00:00:00.000Z" };
    const builtIn = fakeDeps(() => true).deps;
    expect(engineContext(builtIn, { current_time: "2000-01-01T00:00:00Z", x: 1 }, now)).toEqual(now);
    const custom = fakeDeps(() => true, false).deps;
    expect(engineContext(custom, { current_time: "2000-01-01T00:00:00Z", x: 1 }, now)).toEqual({
      ...now,
      x: 1,
    });
  });
});

describe("decisions: evaluations", () => {
  const many = (n: number, deny: Set<number>) => ({
    action: { name: "can_view" },
    resource: { type: "park", id: "p1" },
    evaluations: Array.from({ length: n }, (_, i) => ({
      subject: { type: "user", id: deny.has(i) ? `d${i}` : `a${i}` },
    })),
  });
  const allowA = (i: CheckItem) => i.user.startsWith("user:a");

  it("execute_all chunks at 50 and keeps order, at one request time", async () => {
    const { deps, calls } = fakeDeps(allowA);
    const r = await evaluateMany(deps, many(120, new Set([3, 77])));
    expect("evaluations" in r && r.evaluations.map((e) => e.decision)).toEqual(
      Array.from({ length: 120 }, (_, i) => i !== 3 && i !== 77),
    );
    expect(calls.length).toBe(1); // Engine.batchCheck chunks the 120 items itself.
    expect(calls[0]!.items).toHaveLength(120);
  });

  it("deny_on_first_deny asks the engine chunk by chunk and stops at the first deny", async () => {
    const { deps, calls } = fakeDeps(allowA);
    const r = await evaluateMany(deps, {
      ...many(200, new Set([60, 61])),
      options: { evaluations_semantic: "deny_on_first_deny" },
    });
    expect("evaluations" in r && r.evaluations).toHaveLength(61);
    expect(calls.map((c) => c.items.length)).toEqual([50, 50]);
  });

  it("permit_on_first_permit stops at the first permit; a bad item before it is an error, not a stop", async () => {
    const { deps, calls } = fakeDeps(allowA);
    const body = many(5, new Set([0, 1, 2, 3, 4]));
    body.evaluations[2] = { subject: { type: "user", id: "a2" } };
    body.evaluations[1] = { subject: { type: "user" } } as never;
    const r = await evaluateMany(deps, {
      ...body,
      options: { evaluations_semantic: "permit_on_first_permit" },
    });
    expect("evaluations" in r && r.evaluations).toEqual([
      { decision: false },
      {
        decision: false,
        context: { error: { status: 400, message: expect.stringContaining("subject.id") } },
      },
      { decision: true },
    ]);
    expect(calls).toHaveLength(1);
  });

  it("turns engine item errors into decision false with the error in the item's context", async () => {
    const { deps } = fakeDeps((i) => (i.user === "user:a1" ? "error" : true));
    const r = await evaluateMany(deps, many(3, new Set()));
    expect("evaluations" in r && r.evaluations).toEqual([
      { decision: true },
      { decision: false, context: { error: { status: 500, message: "context deadline exceeded" } } },
      { decision: true },
    ]);
  });

  it("custom model: an item the engine refuses, or an id it would refuse, is a bare deny (exact JSON)", async () => {
    const { deps } = fakeDeps((i) => (i.user === "user:a1" ? "refused" : true), false);
    const body = many(4, new Set());
    body.evaluations[3] = { subject: { type: "user", id: "a:3" } };
    const r = await evaluateMany(deps, body);
    expect("evaluations" in r && r.evaluations).toEqual([
      { decision: true },
      { decision: false },
      { decision: true },
      { decision: false },
    ]);
  });

  it("built-in model: a refusal is our bug, an error item without the engine's message; a bad id a 400 item", async () => {
    const { deps } = fakeDeps((i) => (i.user === "user:a1" ? "refused" : true));
    const body = many(4, new Set());
    body.evaluations[3] = { subject: { type: "user", id: "a 3" } };
    const r = await evaluateMany(deps, body);
    expect("evaluations" in r && r.evaluations).toEqual([
      { decision: true },
      {
        decision: false,
        context: { error: { status: 500, message: "the decision could not be evaluated" } },
      },
      { decision: true },
      { decision: false, context: { error: { status: 400, message: expect.stringContaining("valid ids") } } },
    ]);
  });
});

describe("decisions: search pages", () => {
  const all = Array.from({ length: 7 }, (_, i) => i);
  it("pages with opaque tokens bound to the parameters; the last next_token is empty", () => {
    const p1 = paginate(all, undefined, 3, ["a"]);
    expect(p1.results).toEqual([0, 1, 2]);
    const p2 = paginate(all, p1.page.next_token, 3, ["a"]);
    const p3 = paginate(all, p2.page.next_token, 3, ["a"]);
    expect([p2.results, p3.results, p3.page.next_token]).toEqual([[3, 4, 5], [6], ""]);
    expect(() => paginate(all, p1.page.next_token, 3, ["b"])).toThrow(/other parameters/);
    expect(() => paginate(all, "not-a-token", 3, ["a"])).toThrow(/not a token/);
    expect(paginate([], undefined, undefined, ["a"]).page).toEqual({ next_token: "", count: 0, total: 0 });
  });
});
