import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, testConfig } from "../../src/config.js";
import type { CheckItem, Engine } from "../../src/engine/client.js";
import { renderError } from "../../src/http/errors.js";
import type { Deps } from "../../src/kernel/deps.js";
import { InvalidInput } from "../../src/kernel/errors.js";
import { actionsOf, isEngineId, propertiesContext } from "../../src/modules/decisions/any-model.js";
import { engineContext, evaluate, toCheck } from "../../src/modules/decisions/service.js";

const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

function deps(managementEnabled: boolean, check?: (i: CheckItem, at: unknown) => Promise<boolean>) {
  const engine = { check } as unknown as Engine;
  return { config: testConfig(), managementEnabled, engine, log: silent } as unknown as Deps;
}

const q = (sid: string, action: string, type: string, rid: string) => ({
  subject: { type: "user", id: sid },
  action: { name: action },
  resource: { type, id: rid },
});

describe("ids per model", () => {
  it("encodes ':' for the built-in model, and keeps ids as sent for a custom one", () => {
    expect(toCheck(deps(true), q("urn:u:1", "can_view", "park", "urn:park:42"))).toEqual({
      ok: true,
      item: { user: "user:urn~u~1", relation: "can_view", object: "park:urn~park~42" },
    });
    expect(toCheck(deps(false), q("CiRm", "GET", "route", "/todos/{todoId}"))).toEqual({
      ok: true,
      item: { user: "user:CiRm", relation: "GET", object: "route:/todos/{todoId}" },
    });
  });

  it("judges custom-model ids by OpenFGA's rules, not the platform charset", () => {
    for (const good of ["/users/{userId}", "a+b", "ünïcode", "x".repeat(200), "a*b"]) {
      expect(isEngineId(good), good).toBe(true);
    }
    for (const bad of ["", "a:b", "a#b", "a b", "*", "tab\there", "nul\u0000"]) {
      expect(isEngineId(bad), bad).toBe(false);
      expect(toCheck(deps(false), q(bad, "GET", "route", "/todos")).ok, bad).toBe(false);
    }
  });
});

describe("properties and context (custom model)", () => {
  it("prefixes subject_, resource_, action_ under the request context; the request time is ours", () => {
    const body = {
      subject: { type: "user", id: "u", properties: { department: "Sales", current_time: "1999" } },
      resource: { type: "todo", id: "1", properties: { ownerID: "rick", department: "Legal" } },
      action: { name: "edit", properties: { severity: 2 } },
      context: { resource_ownerID: "context wins", current_time: "2000-01-01T00:00:00Z" },
    };
    const merged = propertiesContext(body);
    expect(merged).toEqual({
      subject_department: "Sales",
      subject_current_time: "1999",
      resource_ownerID: "context wins",
      resource_department: "Legal",
      action_severity: 2,
      current_time: "2000-01-01T00:00:00Z",
    });
    const now = { current_time: "2030-01-01T00:00:00.000Z" };
    expect(engineContext(deps(false), merged, now).current_time).toBe(now.current_time);
    expect(engineContext(deps(true), merged, now)).toEqual(now);
    expect(propertiesContext({ context: { a: 1 } })).toEqual({ a: 1 });
    expect(propertiesContext({})).toBeUndefined();
  });

  it("reaches the engine with the evaluation", async () => {
    let seen: unknown;
    const d = deps(false, async (_i, at) => {
      seen = at;
      return true;
    });
    await evaluate(d, {
      ...q("u", "can_update_todo", "todo", "1"),
      resource: { type: "todo", id: "1", properties: { ownerID: "rick" } },
    });
    expect(seen).toMatchObject({ resource_ownerID: "rick", current_time: expect.any(String) });
  });
});

describe("ACTION_RELATIONS", () => {
  const rels = ["owner", "department", "view", "edit", "delete", "can_share"];

  it("parses type:relation|relation entries and names the variable when malformed", () => {
    const c = loadConfig({ ACTION_RELATIONS: "record:view|edit|delete, todo:can_update_todo" });
    expect([...c.ACTION_RELATIONS]).toEqual([
      ["record", ["view", "edit", "delete"]],
      ["todo", ["can_update_todo"]],
    ]);
    for (const bad of ["record", ":view", "record:", "rec ord:view", "record:a#b"]) {
      expect(() => loadConfig({ ACTION_RELATIONS: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig({ ACTION_RELATION_PATTERN: "(" })).toThrow(/ACTION_RELATION_PATTERN/);
  });

  it("answers the listed actions of a type, the pattern's for others, every relation when unset", () => {
    const listed = loadConfig({ ACTION_RELATIONS: "record:delete|view|edit|nope" });
    expect(actionsOf(listed, "record", rels)).toEqual(["view", "edit", "delete"]);
    expect(actionsOf(listed, "doc", rels)).toEqual([]);
    const both = loadConfig({ ACTION_RELATIONS: "record:view", ACTION_RELATION_PATTERN: "^can_" });
    expect(actionsOf(both, "record", rels)).toEqual(["view"]);
    expect(actionsOf(both, "doc", rels)).toEqual(["can_share"]);
    expect(actionsOf(testConfig(), "record", rels)).toEqual(rels);
  });
});

describe("engine validation errors never reach a client as such", () => {
  it("a management request the engine refuses answers a generic 500", async () => {
    const app = new Hono();
    app.onError(renderError);
    app.get("/x", () => {
      throw InvalidInput("engine-validation", "invalid 'object' field format: park::p");
    });
    const res = await app.request("/x");
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.code).toBe("internal-error");
    expect(JSON.stringify(body)).not.toContain("park::p");
  });

  it("a decision the engine refuses is a deny (built-in and custom model)", async () => {
    const refuse = async () => {
      throw InvalidInput("engine-validation", "refused");
    };
    expect(await evaluate(deps(true, refuse), q("u", "can_view", "park", "p"))).toBe(false);
    expect(await evaluate(deps(false, refuse), q("u", "GET", "route", "/x"))).toBe(false);
  });
});
