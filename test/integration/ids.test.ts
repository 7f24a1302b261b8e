import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoverJournal } from "../../src/engine-sync/journal.js";
import { reconcile } from "../../src/engine-sync/reconcile.js";
import { ProcessCrash } from "../../src/kernel/deps.js";
import { bootstrapSysadmins } from "../../src/modules/platform/service.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import { createActiveCooperation } from "../support/resource-factories.js";

const ROUTES_FILE = path.resolve(import.meta.dirname, "../fixtures/gateway/routes.yaml");

/**
 * A 128-character id holding every character API.md allows, `:` at both ends
 * and inside (OpenFGA refuses `:` in an id): the worst legal id.
 */
function longId(tag: string): string {
  const head = `:${tag}:${randomUUID().slice(0, 8)}:a|b@c_d-e.Z9:`;
  const filler = "AZaz09._@:|-";
  let id = head;
  while (id.length < 127) id += filler[id.length % filler.length];
  return `${id}:`;
}

function ok(res: { status: number; body: unknown }) {
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

/** Path segments are sent percent-encoded, as a client library would; the service answers with ids as sent. */
const seg = encodeURIComponent;

describe("every id the contract allows works end to end (issue 13)", () => {
  let t: TestContext;
  let crash = false;
  const admin = longId("admin");
  const member = longId("member");
  const staff = longId("staff");
  const sys = longId("sys");
  const pf = longId("pf");
  const pf2 = longId("pf2");
  const park = longId("park");
  let org: Awaited<ReturnType<typeof createOrg>>;

  beforeAll(async () => {
    t = await createTestContext({
      config: { OPENFGA_TIMEOUT_MS: "10000", ROUTES_FILE },
      faults: {
        afterEngineWrite: () => {
          if (crash) throw new ProcessCrash("simulated crash before commit");
        },
      },
    });
    for (const id of [admin, member, staff, sys, pf, park]) {
      expect(id).toHaveLength(128);
      expect(id).toMatch(/^[A-Za-z0-9._@:|-]{128}$/);
      for (const ch of "._@:|-") expect(id).toContain(ch);
    }
    org = await createOrg(t, { admin });
    await addMemberTo(t, org.id, "member", member);
    await bootstrapSysadmins(t.deps, [sys]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const decide = async (subject: string, action: string, type: string, id: string) => {
    const res = await t.json("POST", "/access/v1/evaluation", {
      key: "decide",
      body: { subject: { type: "user", id: subject }, action: { name: action }, resource: { type, id } },
    });
    ok(res);
    return res.body.decision as boolean;
  };

  it("management routes take such user, portfolio and park ids and answer with them exactly as sent", async () => {
    const p = await t.json("PUT", `/v1/portfolios/${seg(pf)}`, {
      actor: admin,
      body: { organizationId: org.id, name: "Long" },
    });
    ok(p);
    expect(p.body.id).toBe(pf);
    const p2 = await t.json("PUT", `/v1/portfolios/${pf2}`, {
      actor: admin,
      body: { organizationId: org.id, name: "Long 2" },
    });
    ok(p2);
    const k = await t.json("PUT", `/v1/parks/${seg(park)}`, {
      actor: admin,
      body: { portfolioId: pf, name: "P" },
    });
    ok(k);
    expect(k.body).toMatchObject({ id: park, portfolioId: pf });

    const role = await t.json("PUT", `/v1/organizations/${org.id}/members/${seg(member)}/role`, {
      actor: admin,
      body: { role: "asset_manager_commercial" },
    });
    ok(role);
    const g = await t.json("PUT", `/v1/portfolios/${seg(pf)}/grants/${seg(member)}`, {
      actor: admin,
      body: { level: "technical_manager" },
    });
    ok(g);
    const list = await t.json("GET", `/v1/portfolios/${seg(pf)}/grants`, { actor: admin });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        userId: member,
        level: "technical_manager",
        effectiveLevel: "technical_manager",
      }),
    ]);
    const members = await t.json("GET", `/v1/organizations/${org.id}/members`, { actor: member });
    expect(members.body.items.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [admin, member].sort(),
    );
    const me = await t.json("GET", "/v1/me", { actor: member });
    expect(me.body).toMatchObject({
      user: expect.objectContaining({ id: member }),
      role: "asset_manager_commercial",
    });

    const staffed = await t.json("PUT", `/v1/platform/staff/${seg(staff)}`, {
      actor: sys,
      body: { role: "support" },
    });
    ok(staffed);
  });

  it("decisions use the same ids: levels through the portfolio, roles, staff", async () => {
    expect(await decide(admin, "can_configure_settings", "park", park)).toBe(true);
    expect(await decide(member, "can_run_diagnostics", "park", park)).toBe(true);
    expect(await decide(member, "can_configure_settings", "park", park)).toBe(false);
    expect(await decide(member, "can_create_portfolio", "organization", org.id)).toBe(true);
    expect(await decide(staff, "can_send_platform_invitation", "platform", "default")).toBe(true);
    // The encoded form is not an alias of the id: `~` is not in the charset, and a
    // near-miss id (another `:` position) is another user.
    expect(await decide(member.replaceAll(":", "."), "can_view", "park", park)).toBe(false);
    const batch = await t.json("POST", "/access/v1/evaluations", {
      key: "decide",
      body: {
        subject: { type: "user", id: member },
        resource: { type: "park", id: park },
        evaluations: [{ action: { name: "can_view" } }, { action: { name: "can_use_vpn" } }],
      },
    });
    expect(batch.body).toEqual({ evaluations: [{ decision: true }, { decision: false }] });
  });

  it("searches answer with the ids exactly as sent", async () => {
    const resources = await t.json("POST", "/access/v1/search/resource", {
      key: "decide",
      body: {
        subject: { type: "user", id: member },
        action: { name: "can_view" },
        resource: { type: "park" },
      },
    });
    expect(resources.body.results).toEqual([{ type: "park", id: park }]);
    const portfolios = await t.json("POST", "/access/v1/search/resource", {
      key: "decide",
      body: {
        subject: { type: "user", id: admin },
        action: { name: "can_view" },
        resource: { type: "portfolio" },
      },
    });
    expect(portfolios.body.results.map((r: { id: string }) => r.id)).toEqual(
      expect.arrayContaining([pf, pf2, org.portfolioId]),
    );
    const subjects = await t.json("POST", "/access/v1/search/subject", {
      key: "decide",
      body: {
        subject: { type: "user" },
        action: { name: "can_run_diagnostics" },
        resource: { type: "park", id: park },
      },
    });
    expect(subjects.body.results.map((r: { id: string }) => r.id).sort()).toEqual([admin, member].sort());
    const actions = await t.json("POST", "/access/v1/search/action", {
      key: "decide",
      body: { subject: { type: "user", id: member }, resource: { type: "park", id: park } },
    });
    expect(actions.body.results.map((r: { name: string }) => r.name)).toContain("can_run_diagnostics");
  });

  it("forward-auth takes such a user and a resource id from the path", async () => {
    const ask = (user: string, uri: string) =>
      t.json("GET", "/v1/forward-auth", {
        key: "decide",
        headers: { "x-forwarded-user": user, "x-original-method": "GET", "x-original-uri": uri },
      });
    const allowed = await ask(member, `/parks/${park}/files/report.pdf`);
    ok(allowed);
    expect(allowed.body.resource).toEqual({ type: "park", id: park });
    expect((await ask(staff, `/portfolios/${pf2}`)).status).toBe(403);
    expect((await ask(admin, `/portfolios/${pf2}`)).status).toBe(200);
  });

  it("cooperations share and delegate such resources; reads answer the ids as sent", async () => {
    const partner = await createOrg(t, { admin: longId("partner") });
    const partnerMember = await addMemberTo(t, partner.id, "member", longId("pm"));
    const coop = await createActiveCooperation(t, org.id, partner.id, [
      { resource: { type: "park", id: park }, level: "operator" },
    ]);
    const read = await t.json("GET", `/v1/cooperations/${coop}`, { actor: partner.admin });
    expect(read.body.shares).toEqual([{ resource: { type: "park", id: park }, level: "operator" }]);
    const d = await t.json("PUT", `/v1/parks/${seg(park)}/grants/${seg(partnerMember)}`, {
      actor: partner.admin,
      body: { level: "viewer" },
    });
    ok(d);
    expect(await decide(partnerMember, "can_view", "park", park)).toBe(true);
    expect(await decide(partnerMember, "can_edit_details", "park", park)).toBe(false);
    const share = await t.json("PUT", `/v1/cooperations/${coop}/shares/portfolio/${seg(pf2)}`, {
      actor: admin,
      body: { level: "viewer" },
    });
    ok(share);
    expect(await decide(partner.admin, "can_view", "portfolio", pf2)).toBe(true);
  });

  it("moves and deletes such parks; reconcile finds no drift (the engine holds the encoded forms)", async () => {
    const moved = await t.json("PUT", `/v1/parks/${seg(park)}`, {
      actor: admin,
      body: { portfolioId: pf2, name: "P" },
    });
    ok(moved);
    expect(await decide(member, "can_run_diagnostics", "park", park)).toBe(false);
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
    const other = longId("gone");
    ok(
      await t.json("PUT", `/v1/parks/${seg(other)}`, { actor: admin, body: { portfolioId: pf, name: "G" } }),
    );
    expect(await decide(admin, "can_view", "park", other)).toBe(true);
    const del = await t.json("DELETE", `/v1/parks/${seg(other)}`, { actor: admin });
    expect(del.status, JSON.stringify(del.body)).toBeLessThan(300);
    expect(await decide(admin, "can_view", "park", other)).toBe(false);
    expect((await reconcile(t.deps, { repair: false })).missing).toEqual([]);
  });

  it("the journal repairs an interrupted change on such ids from its keys alone", async () => {
    crash = true;
    let status: number;
    try {
      status = (
        await t.request("PUT", `/v1/parks/${seg(park)}/grants/${seg(member)}`, {
          actor: admin,
          body: { level: "operator" },
        })
      ).status;
    } finally {
      crash = false;
    }
    expect(status).toBe(500);
    expect(await decide(member, "can_configure_settings", "park", park)).toBe(true); // stale allow
    const recovered = await recoverJournal(t.deps);
    expect(recovered.entries).toBe(1);
    expect(recovered.repaired).toBeGreaterThan(0);
    expect(await decide(member, "can_configure_settings", "park", park)).toBe(false);
    const report = await reconcile(t.deps, { repair: false });
    expect([report.missing, report.extra]).toEqual([[], []]);
  });

  it("a server id with ':' that names nothing is a plain 403/404, never engine-validation", async () => {
    for (const [method, url] of [
      ["GET", "/v1/organizations/a:b"],
      ["GET", "/v1/organizations/a:b/members"],
      ["GET", "/v1/cooperations/c:d"],
      ["GET", `/v1/organizations/${seg("x:y")}/audit-events`],
    ] as const) {
      const res = await t.json(method, url, { actor: admin });
      expect([403, 404], `${url} ${JSON.stringify(res.body)}`).toContain(res.status);
      expect(res.body.code).not.toBe("engine-validation");
    }
  });
});
