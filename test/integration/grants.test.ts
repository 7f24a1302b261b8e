import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import { Unavailable } from "../../src/kernel/errors.js";
import { membershipTuples } from "../../src/kernel/tuples.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";
import { createPark, createPortfolio, grant } from "../support/resource-factories.js";

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "10000" } });
});
afterAll(async () => {
  await t?.close();
});

const can = (user: string, relation: string, object: string) =>
  t.engine.check({ user: `user:${user}`, relation, object });
const grantRows = async (id: string) =>
  t.sql`select user_id, level, cooperation_id from grants where resource_id = ${id} order by user_id`;

async function world() {
  const org = await createOrg(t);
  const park = await createPark(t, org.admin, org.portfolioId);
  return { org, park };
}

describe("own-organization grants (R-O2, R-O3, R-O4)", () => {
  it("grants, changes and removes a level, with engine, list and audit in step", async () => {
    const { org, park } = await world();
    const member = await addMemberTo(t, org.id, "member");
    const path = `/v1/parks/${park}/grants/${member}`;
    const created = await t.json("PUT", path, { actor: org.admin, body: { level: "viewer" } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      userId: member,
      level: "viewer",
      effectiveLevel: "viewer",
      organizationId: org.id,
      cooperationId: null,
    });
    expect(await can(member, "can_view", `park:${park}`)).toBe(true);
    const raised = await t.json("PUT", path, { actor: org.admin, body: { level: "operator" } });
    expect([raised.status, raised.body.effectiveLevel]).toEqual([200, "operator"]);
    expect(await can(member, "can_configure_settings", `park:${park}`)).toBe(true);
    // The engine holds exactly the new level's tuples (operator implies all four), not the old one beside them.
    const held: string[] = [];
    for await (const tu of t.engine.readAll()) {
      if (tu.user === `user:${member}` && tu.object === `park:${park}`) held.push(tu.relation);
    }
    expect(held.sort()).toEqual([
      "grant_asset_manager",
      "grant_operator",
      "grant_technical_manager",
      "grant_viewer",
    ]);
    const list = await t.json("GET", `/v1/parks/${park}/grants`, { actor: org.admin });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [
        {
          userId: member,
          level: "operator",
          effectiveLevel: "operator",
          organizationId: org.id,
          cooperationId: null,
        },
      ],
      nextCursor: null,
    });
    const removed = await t.request("DELETE", path, { actor: org.admin });
    expect(removed.status).toBe(204);
    expect(await can(member, "can_view", `park:${park}`)).toBe(false);
    expect(await grantRows(park)).toHaveLength(0);
    const audit = await t.sql`select action, organization_ids, before, after, request_id from audit_events
      where target_id = ${park} and action like 'grant.%' order by id`;
    expect(audit.map((a) => a.action)).toEqual(["grant.set", "grant.set", "grant.removed"]);
    expect(audit[1]).toMatchObject({
      organization_ids: [org.id],
      before: { userId: member, level: "viewer" },
      after: { userId: member, level: "operator" },
    });
    expect(audit[1]!.request_id).toBeTruthy();
  });

  it("a moderator grants on a portfolio; the same level again is a no-op", async () => {
    const { org } = await world();
    const moderator = await addMemberTo(t, org.id, "moderator");
    const member = await addMemberTo(t, org.id, "member");
    await grant(t, moderator, "portfolio", org.portfolioId, member, "asset_manager");
    const again = await t.json("PUT", `/v1/portfolios/${org.portfolioId}/grants/${member}`, {
      actor: moderator,
      body: { level: "asset_manager" },
    });
    expect(again.status).toBe(200);
    const audit =
      await t.sql`select 1 from audit_events where target_id = ${org.portfolioId} and action = 'grant.set'`;
    expect(audit).toHaveLength(1);
  });

  it("R-O2 a grant adds to the baseline: technical_manager baseline + asset_manager grant = both columns, not operator", async () => {
    const { org, park } = await world();
    const amt = await addMemberTo(t, org.id, "asset_manager_technical");
    const g = await grant(t, org.admin, "park", park, amt, "asset_manager");
    expect(g.effectiveLevel).toBe("asset_manager");
    const object = `park:${park}`;
    expect(await can(amt, "can_close_ticket", object)).toBe(true);
    expect(await can(amt, "can_manage_contracts", object)).toBe(true);
    expect(await can(amt, "can_configure_settings", object)).toBe(false);
    // A viewer grant to an admin never reduces the operator baseline.
    const admin2 = await addMemberTo(t, org.id, "admin");
    await grant(t, org.admin, "park", park, admin2, "viewer");
    expect(await can(admin2, "can_configure_settings", object)).toBe(true);
  });

  it("R-O3 refuses a grantee who is not a member of the owner organization (409) and changes nothing", async () => {
    const { org, park } = await world();
    const other = await createOrg(t);
    for (const grantee of [other.admin, userId("stranger")]) {
      const res = await t.json("PUT", `/v1/parks/${park}/grants/${grantee}`, {
        actor: org.admin,
        body: { level: "viewer" },
      });
      expect([res.status, res.body.code]).toEqual([409, "not-a-member"]);
    }
    expect(await grantRows(park)).toHaveLength(0);
  });

  it("R-O4 refuses above viewer for an external (never lowered), allows viewer, and shows viewer when demoted", async () => {
    const { org, park } = await world();
    const external = await addMemberTo(t, org.id, "external");
    const refused = await t.json("PUT", `/v1/parks/${park}/grants/${external}`, {
      actor: org.admin,
      body: { level: "technical_manager" },
    });
    expect([refused.status, refused.body.code]).toEqual([403, "level-above-external-cap"]);
    expect(await grantRows(park)).toHaveLength(0);
    const ok = await grant(t, org.admin, "park", park, external, "viewer");
    expect(ok.effectiveLevel).toBe("viewer");
    // A member with operator demoted to external keeps the row but the engine sees viewer.
    const member = await addMemberTo(t, org.id, "member");
    await grant(t, org.admin, "park", park, member, "operator");
    await runChange(t.deps, t.actor("system"), async (uow) => {
      await uow.tx`update memberships set role = 'external' where user_id = ${member}`;
      uow.tuples(
        membershipTuples({ userId: member, organizationId: org.id, role: "member" }),
        membershipTuples({ userId: member, organizationId: org.id, role: "external" }),
      );
    });
    const list = await t.json("GET", `/v1/parks/${park}/grants`, { actor: org.admin });
    const item = list.body.items.find((i: { userId: string }) => i.userId === member);
    expect(item).toMatchObject({ level: "operator", effectiveLevel: "viewer" });
    expect(await can(member, "can_create_ticket", `park:${park}`)).toBe(false);
  });

  it("refuses actors without manage access (403), unknown resources and grants (404) and bad input (400)", async () => {
    const { org, park } = await world();
    const member = await addMemberTo(t, org.id, "member");
    const amt = await addMemberTo(t, org.id, "asset_manager_technical");
    const outsider = await createOrg(t);
    await grant(t, org.admin, "park", park, member, "viewer");
    for (const actor of [member, amt, outsider.admin]) {
      const put = await t.json("PUT", `/v1/parks/${park}/grants/${member}`, {
        actor,
        body: { level: "operator" },
      });
      expect([put.status, put.body.code], actor).toEqual([403, "forbidden"]);
      expect((await t.json("DELETE", `/v1/parks/${park}/grants/${member}`, { actor })).status).toBe(403);
      expect((await t.json("GET", `/v1/parks/${park}/grants`, { actor })).status).toBe(403);
    }
    expect(
      (
        await t.json("PUT", `/v1/parks/nope/grants/${member}`, {
          actor: org.admin,
          body: { level: "viewer" },
        })
      ).body.code,
    ).toBe("park-not-found");
    expect((await t.json("GET", "/v1/portfolios/nope/grants", { actor: org.admin })).status).toBe(404);
    const missing = await t.json("DELETE", `/v1/parks/${park}/grants/${amt}`, { actor: org.admin });
    expect([missing.status, missing.body.code]).toEqual([404, "grant-not-found"]);
    for (const [path, body] of [
      [`/v1/parks/${park}/grants/${member}`, { level: "boss" }],
      [`/v1/parks/${park}/grants/${member}`, {}],
      [`/v1/parks/${park}/grants/bad%20user`, { level: "viewer" }],
    ] as const) {
      const res = await t.json("PUT", path, { actor: org.admin, body });
      expect([res.status, res.body.code]).toEqual([400, "invalid-request"]);
    }
    expect((await t.json("GET", `/v1/parks/${park}/grants?limit=0`, { actor: org.admin })).status).toBe(400);
    expect((await t.json("GET", `/v1/parks/${park}/grants`, { actor: org.admin, key: null })).status).toBe(
      401,
    );
    expect(await grantRows(park)).toEqual([{ user_id: member, level: "viewer", cooperation_id: null }]);
  });

  it("pages the grant list with limit and cursor", async () => {
    const { org, park } = await world();
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await addMemberTo(t, org.id, "member"));
    for (const u of users) await grant(t, org.admin, "park", park, u, "viewer");
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const page = await t.json("GET", `/v1/parks/${park}/grants${q}`, { actor: org.admin });
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i: { userId: string }) => i.userId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...users].sort());
  });

  it("R-H2 deleting a park removes its grants; a non-empty portfolio is refused (409); moderators delete, others may not", async () => {
    const { org, park } = await world();
    const member = await addMemberTo(t, org.id, "member");
    const moderator = await addMemberTo(t, org.id, "moderator");
    const amt = await addMemberTo(t, org.id, "asset_manager_technical");
    await grant(t, org.admin, "park", park, member, "operator");
    const notEmpty = await t.json("DELETE", `/v1/portfolios/${org.portfolioId}`, { actor: org.admin });
    expect([notEmpty.status, notEmpty.body.code]).toEqual([409, "portfolio-not-empty"]);
    expect((await t.json("DELETE", `/v1/parks/${park}`, { actor: amt })).status).toBe(403);
    expect((await t.json("DELETE", `/v1/parks/${park}`, { actor: member })).status).toBe(403);
    expect(await can(member, "can_configure_settings", `park:${park}`)).toBe(true);
    expect((await t.request("DELETE", `/v1/parks/${park}`, { actor: moderator })).status).toBe(204);
    expect(await grantRows(park)).toHaveLength(0);
    expect(await t.sql`select 1 from parks where id = ${park}`).toHaveLength(0);
    expect(await can(member, "can_view", `park:${park}`)).toBe(false);
    expect(await can(org.admin, "can_view", `park:${park}`)).toBe(false);
    expect((await t.json("DELETE", `/v1/parks/${park}`, { actor: org.admin })).status).toBe(404);
    expect(
      (await t.request("DELETE", `/v1/portfolios/${org.portfolioId}`, { actor: org.admin })).status,
    ).toBe(204);
    expect(await can(org.admin, "can_view", `portfolio:${org.portfolioId}`)).toBe(false);
    const actions =
      await t.sql`select action from audit_events where target_id in (${park}, ${org.portfolioId})
      and action like '%deleted' order by id`;
    expect(actions.map((a) => a.action)).toEqual(["park.deleted", "portfolio.deleted"]);
  });
});

describe("engine failures (R-G2)", () => {
  it("an engine that refuses the write answers 503 and leaves no partial state", async () => {
    const { org, park } = await world();
    const member = await addMemberTo(t, org.id, "member");
    await grant(t, org.admin, "park", park, member, "viewer");
    const other = await createPortfolio(t, org.admin, org.id);
    const real = t.deps.engine;
    // Decisions still answer; only the change's tuple write fails (as when OpenFGA dies mid-change).
    t.deps.engine = Object.assign(Object.create(real), {
      write: async () => {
        throw Unavailable("engine-unavailable", "the authorization engine did not answer");
      },
    });
    const auditBefore = (await t.sql`select count(*)::int as n from audit_events`)[0]!.n;
    try {
      const changes = [
        () =>
          t.json("PUT", `/v1/parks/${park}/grants/${member}`, {
            actor: org.admin,
            body: { level: "operator" },
          }),
        () => t.json("DELETE", `/v1/parks/${park}/grants/${member}`, { actor: org.admin }),
        () =>
          t.json("PUT", `/v1/parks/${park}`, {
            actor: org.admin,
            body: { portfolioId: other, name: "Moved" },
          }),
        () => t.json("DELETE", `/v1/parks/${park}`, { actor: org.admin }),
      ];
      for (const change of changes) {
        const res = await change();
        expect([res.status, res.body.code]).toEqual([503, "engine-unavailable"]);
      }
    } finally {
      t.deps.engine = real;
    }
    expect(await grantRows(park)).toEqual([{ user_id: member, level: "viewer", cooperation_id: null }]);
    expect((await t.sql`select name from parks where id = ${park}`)[0]).toMatchObject({
      name: `Park ${park}`,
    });
    expect((await t.sql`select count(*)::int as n from audit_events`)[0]!.n).toBe(auditBefore);
    expect(await can(member, "can_view", `park:${park}`)).toBe(true);
    expect(await can(member, "can_create_ticket", `park:${park}`)).toBe(false);
  });
});
