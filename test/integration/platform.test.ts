import { describe, expect, it } from "vitest";
import { bootstrapSysadmins } from "../../src/modules/platform/service.js";
import type { TestContext } from "../support/app.js";
import { userId } from "../support/factories.js";
import { allows, auditCount, contextHooks, sysadmin } from "../support/org-factories.js";

const PLATFORM = "platform:default";

async function staffRole(t: TestContext, id: string) {
  const [r] = await t.sql`select role from platform_staff where user_id = ${id}`;
  return (r?.role as string | undefined) ?? null;
}

describe("platform staff", () => {
  let t: TestContext;
  let sys: string;
  contextHooks(async (c) => {
    t = c;
    sys = await sysadmin(t);
  });

  it("bootstraps BOOTSTRAP_SYSADMINS idempotently", async () => {
    const before = await auditCount(t);
    await bootstrapSysadmins(t.deps, [sys]);
    expect(await auditCount(t)).toBe(before);
    expect(await allows(t, sys, "can_administer", PLATFORM)).toBe(true);
  });

  it("a sysadmin sets, changes and removes a staff role; the model follows", async () => {
    const u = userId("staff");
    const put = await t.json("PUT", `/v1/platform/staff/${u}`, { actor: sys, body: { role: "support" } });
    expect([put.status, put.body]).toEqual([200, { userId: u, role: "support" }]);
    expect(await staffRole(t, u)).toBe("support");
    expect(await allows(t, u, "can_send_platform_invitation", PLATFORM)).toBe(true);
    expect(await allows(t, u, "can_administer", PLATFORM)).toBe(false);

    const again = await auditCount(t);
    expect(
      (await t.json("PUT", `/v1/platform/staff/${u}`, { actor: sys, body: { role: "support" } })).status,
    ).toBe(200);
    expect(await auditCount(t)).toBe(again);

    const up = await t.json("PUT", `/v1/platform/staff/${u}`, { actor: sys, body: { role: "sysadmin" } });
    expect(up.status).toBe(200);
    expect(await allows(t, u, "can_administer", PLATFORM)).toBe(true);

    const del = await t.request("DELETE", `/v1/platform/staff/${u}`, { actor: sys });
    expect(del.status).toBe(204);
    expect(await staffRole(t, u)).toBeNull();
    expect(await allows(t, u, "can_send_platform_invitation", PLATFORM)).toBe(false);
    const audit = await t.sql`select action, before, after, actor_id from audit_events
      where target_id = ${u} order by id`;
    expect(audit.map((a) => [a.action, a.before?.role ?? null, a.after?.role ?? null, a.actor_id])).toEqual([
      ["platform.staff.set", null, "support", sys],
      ["platform.staff.set", "support", "sysadmin", sys],
      ["platform.staff.removed", "sysadmin", null, sys],
    ]);
  });

  it("refuses non-sysadmins (403) and changes nothing", async () => {
    const support = userId("support");
    await t.json("PUT", `/v1/platform/staff/${support}`, { actor: sys, body: { role: "support" } });
    const target = userId("t");
    const before = await auditCount(t);
    for (const actor of [support, userId("nobody")]) {
      const put = await t.json("PUT", `/v1/platform/staff/${target}`, { actor, body: { role: "sysadmin" } });
      expect([put.status, put.body.code]).toEqual([403, "forbidden"]);
      const del = await t.json("DELETE", `/v1/platform/staff/${support}`, { actor });
      expect(del.status).toBe(403);
    }
    expect(await staffRole(t, target)).toBeNull();
    expect(await staffRole(t, support)).toBe("support");
    expect(await auditCount(t)).toBe(before);
  });

  it("validates the role, the user id and the body (400) and changes nothing", async () => {
    const u = userId("v");
    const cases = [
      { path: `/v1/platform/staff/${u}`, body: { role: "admin" } },
      { path: `/v1/platform/staff/${u}`, body: {} },
      { path: `/v1/platform/staff/bad%20id`, body: { role: "support" } },
      { path: `/v1/platform/staff/${"x".repeat(129)}`, body: { role: "support" } },
    ];
    for (const c of cases) {
      const res = await t.json("PUT", c.path, { actor: sys, body: c.body });
      expect([res.status, res.body.code]).toEqual([400, "invalid-request"]);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    const noBody = await t.json("PUT", `/v1/platform/staff/${u}`, { actor: sys });
    expect(noBody.status).toBe(400);
    expect(await staffRole(t, u)).toBeNull();
  });

  it("removing someone who is not staff is 404 staff-not-found", async () => {
    const res = await t.json("DELETE", `/v1/platform/staff/${userId("x")}`, { actor: sys });
    expect([res.status, res.body.code]).toEqual([404, "staff-not-found"]);
  });

  it("needs the API key, the manage scope and an actor", async () => {
    const path = `/v1/platform/staff/${userId("k")}`;
    expect((await t.json("PUT", path, { key: null, actor: sys, body: { role: "support" } })).status).toBe(
      401,
    );
    expect((await t.json("PUT", path, { key: "decide", actor: sys, body: { role: "support" } })).status).toBe(
      403,
    );
    expect((await t.json("PUT", path, { body: { role: "support" } })).body.code).toBe("actor-required");
    expect((await t.json("DELETE", path, { key: null, actor: sys })).status).toBe(401);
  });

  it("records the actor the first time it is seen, with the email normalised", async () => {
    const actor = userId("seen");
    await t.json("PUT", `/v1/platform/staff/${userId("x")}`, {
      actor,
      email: "  Someone@Example.TEST ",
      body: { role: "support" },
    });
    const [u] = await t.sql`select email from users where id = ${actor}`;
    expect(u?.email).toBe("someone@example.test");
  });
});

describe("platform keeps a sysadmin", () => {
  let t: TestContext;
  contextHooks((c) => {
    t = c;
  });

  it("the last sysadmin cannot be demoted or removed (409 last-sysadmin)", async () => {
    const only = await sysadmin(t);
    const demote = await t.json("PUT", `/v1/platform/staff/${only}`, {
      actor: only,
      body: { role: "sales" },
    });
    expect([demote.status, demote.body.code]).toEqual([409, "last-sysadmin"]);
    const del = await t.json("DELETE", `/v1/platform/staff/${only}`, { actor: only });
    expect([del.status, del.body.code]).toEqual([409, "last-sysadmin"]);
    expect(await staffRole(t, only)).toBe("sysadmin");
    expect(await allows(t, only, "can_administer", PLATFORM)).toBe(true);
  });

  it("two sysadmins removing each other in parallel: exactly one succeeds", async () => {
    const [a, b] = [await sysadmin(t), await sysadmin(t)];
    await t.sql`delete from platform_staff where user_id not in ${t.sql([a, b])}`;
    const res = await Promise.all([
      t.request("DELETE", `/v1/platform/staff/${b}`, { actor: a }),
      t.request("DELETE", `/v1/platform/staff/${a}`, { actor: b }),
    ]);
    expect(res.map((r) => r.status).sort()).toEqual([204, 403].sort());
    const left = await t.sql`select user_id from platform_staff where role = 'sysadmin'`;
    expect(left).toHaveLength(1);
  });
});
