import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../support/app.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import { createPark, createPortfolio, grant, resourceId } from "../support/resource-factories.js";

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "10000" } });
});
afterAll(async () => {
  await t?.close();
});

const can = (user: string, relation: string, object: string) =>
  t.engine.check({ user: `user:${user}`, relation, object });
const portfolioRow = async (id: string) => (await t.sql`select * from portfolios where id = ${id}`)[0];
const parkRow = async (id: string) => (await t.sql`select * from parks where id = ${id}`)[0];
const auditOf = async (id: string) =>
  (await t.sql`select action from audit_events where target_id = ${id} order by id`).map((r) => r.action);

describe("PUT /v1/portfolios/{id} (R-H2)", () => {
  it("creates, repeats idempotently and renames, audited and in the engine", async () => {
    const org = await createOrg(t);
    const id = resourceId("pf");
    const body = { organizationId: org.id, name: "North" };
    const created = await t.json("PUT", `/v1/portfolios/${id}`, { actor: org.admin, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, organizationId: org.id, name: "North" });
    expect(Date.parse(created.body.createdAt)).not.toBeNaN();
    const again = await t.json("PUT", `/v1/portfolios/${id}`, { actor: org.admin, body });
    expect([again.status, again.body.name]).toEqual([200, "North"]);
    const renamed = await t.json("PUT", `/v1/portfolios/${id}`, {
      actor: org.admin,
      body: { ...body, name: "South" },
    });
    expect([renamed.status, renamed.body.name]).toEqual([200, "South"]);
    expect(await auditOf(id)).toEqual(["portfolio.created", "portfolio.updated"]);
    expect(await can(org.admin, "can_configure_settings", `portfolio:${id}`)).toBe(true);
  });

  it("lets an asset_manager_commercial create (can_create_portfolio) and refuses a member with 403", async () => {
    const org = await createOrg(t);
    const amc = await addMemberTo(t, org.id, "asset_manager_commercial");
    const member = await addMemberTo(t, org.id, "member");
    await createPortfolio(t, amc, org.id);
    const id = resourceId("pf");
    const refused = await t.json("PUT", `/v1/portfolios/${id}`, {
      actor: member,
      body: { organizationId: org.id, name: "X" },
    });
    expect([refused.status, refused.body.code]).toEqual([403, "forbidden"]);
    expect(await portfolioRow(id)).toBeUndefined();
  });

  it("refuses an id owned by another organization with 409 and changes nothing", async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    const id = await createPortfolio(t, a.admin, a.id);
    const res = await t.json("PUT", `/v1/portfolios/${id}`, {
      actor: b.admin,
      body: { organizationId: b.id, name: "Stolen" },
    });
    expect([res.status, res.body.code]).toEqual([409, "portfolio-owned-elsewhere"]);
    expect(await portfolioRow(id)).toMatchObject({ organization_id: a.id, name: `Portfolio ${id}` });
    // An admin of A naming B's organization has no can_create_portfolio there.
    const other = await t.json("PUT", `/v1/portfolios/${resourceId("pf")}`, {
      actor: a.admin,
      body: { organizationId: b.id, name: "Y" },
    });
    expect(other.status).toBe(403);
  });

  it("validates the path and body (400), the key (401, 403) and the actor", async () => {
    const org = await createOrg(t);
    const ok = { organizationId: org.id, name: "N" };
    for (const [path, body] of [
      ["/v1/portfolios/bad%20id", ok],
      [`/v1/portfolios/${"x".repeat(129)}`, ok],
      ["/v1/portfolios/p1", { organizationId: org.id }],
      ["/v1/portfolios/p1", { organizationId: org.id, name: "" }],
      ["/v1/portfolios/p1", { organizationId: org.id, name: "x".repeat(201) }],
      ["/v1/portfolios/p1", { organizationId: "bad id", name: "N" }],
      ["/v1/portfolios/p1", { name: "N" }],
    ] as const) {
      const res = await t.json("PUT", path, { actor: org.admin, body });
      expect([res.status, res.body.code], path).toEqual([400, "invalid-request"]);
    }
    expect((await t.json("PUT", "/v1/portfolios/p1", { actor: org.admin, body: ok, key: null })).status).toBe(
      401,
    );
    expect(
      (await t.json("PUT", "/v1/portfolios/p1", { actor: org.admin, body: ok, key: "decide" })).status,
    ).toBe(403);
    expect((await t.json("PUT", "/v1/portfolios/p1", { body: ok })).status).toBe(400);
    expect(await portfolioRow("p1")).toBeUndefined();
  });
});

describe("PUT /v1/parks/{id} (R-H1, R-H2)", () => {
  it("creates (asset_manager_technical), updates and refuses members, unknown portfolios and bad bodies", async () => {
    const org = await createOrg(t);
    const amt = await addMemberTo(t, org.id, "asset_manager_technical");
    const member = await addMemberTo(t, org.id, "member");
    const id = resourceId("park");
    const created = await t.json("PUT", `/v1/parks/${id}`, {
      actor: amt,
      body: { portfolioId: org.portfolioId, name: "Solar 1" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id,
      organizationId: org.id,
      portfolioId: org.portfolioId,
      name: "Solar 1",
    });
    const renamed = await t.json("PUT", `/v1/parks/${id}`, {
      actor: amt,
      body: { portfolioId: org.portfolioId, name: "Solar 2" },
    });
    expect([renamed.status, renamed.body.name]).toEqual([200, "Solar 2"]);
    const refused = await t.json("PUT", `/v1/parks/${id}`, {
      actor: member,
      body: { portfolioId: org.portfolioId, name: "Hacked" },
    });
    expect([refused.status, refused.body.code]).toEqual([403, "forbidden"]);
    const unknown = await t.json("PUT", `/v1/parks/${resourceId("park")}`, {
      actor: org.admin,
      body: { portfolioId: "no-such-portfolio", name: "X" },
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, "portfolio-not-found"]);
    const bad = await t.json("PUT", `/v1/parks/${id}`, { actor: org.admin, body: { name: "X" } });
    expect(bad.status).toBe(400);
    expect(await parkRow(id)).toMatchObject({ name: "Solar 2", portfolio_id: org.portfolioId });
    expect(await auditOf(id)).toEqual(["park.created", "park.updated"]);
  });

  it("refuses moving a park into another organization's portfolio with 409", async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    const park = await createPark(t, a.admin, a.portfolioId);
    const res = await t.json("PUT", `/v1/parks/${park}`, {
      actor: b.admin,
      body: { portfolioId: b.portfolioId, name: "Mine now" },
    });
    expect([res.status, res.body.code]).toEqual([409, "park-in-other-organization"]);
    const res2 = await t.json("PUT", `/v1/parks/${park}`, {
      actor: a.admin,
      body: { portfolioId: b.portfolioId, name: "Mine now" },
    });
    expect(res2.status).toBe(403);
    expect(await parkRow(park)).toMatchObject({ organization_id: a.id, portfolio_id: a.portfolioId });
    expect(await can(b.admin, "can_view", `park:${park}`)).toBe(false);
    expect(await can(a.admin, "can_configure_settings", `park:${park}`)).toBe(true);
  });

  it("R-H1 a portfolio grant reaches parks added later and follows a moved park", async () => {
    const org = await createOrg(t);
    const member = await addMemberTo(t, org.id, "member");
    const other = await createPortfolio(t, org.admin, org.id);
    await grant(t, org.admin, "portfolio", org.portfolioId, member, "technical_manager");
    const park = await createPark(t, org.admin, org.portfolioId);
    expect(await can(member, "can_close_ticket", `park:${park}`)).toBe(true);
    expect(await can(member, "can_manage_contracts", `park:${park}`)).toBe(false);
    const moved = await t.json("PUT", `/v1/parks/${park}`, {
      actor: org.admin,
      body: { portfolioId: other, name: "Moved" },
    });
    expect([moved.status, moved.body.portfolioId]).toEqual([200, other]);
    expect(await can(member, "can_view", `park:${park}`)).toBe(false);
    await grant(t, org.admin, "portfolio", other, member, "asset_manager");
    expect(await can(member, "can_manage_contracts", `park:${park}`)).toBe(true);
    expect(await can(member, "can_close_ticket", `park:${park}`)).toBe(false);
    expect(await auditOf(park)).toContain("park.moved");
  });

  it("R-O1 organization roles give their baseline level on every owned park and portfolio", async () => {
    const org = await createOrg(t);
    const outsider = await createOrg(t);
    const park = await createPark(t, org.admin, org.portfolioId);
    const roles = {
      moderator: await addMemberTo(t, org.id, "moderator"),
      amt: await addMemberTo(t, org.id, "asset_manager_technical"),
      amc: await addMemberTo(t, org.id, "asset_manager_commercial"),
      member: await addMemberTo(t, org.id, "member"),
      external: await addMemberTo(t, org.id, "external"),
    };
    const perms = ["can_view", "can_close_ticket", "can_manage_contracts", "can_configure_settings"];
    const expected: Record<string, boolean[]> = {
      [org.admin]: [true, true, true, true],
      [roles.moderator]: [true, true, true, true],
      [roles.amt]: [true, true, false, false],
      [roles.amc]: [true, false, true, false],
      [roles.member]: [false, false, false, false],
      [roles.external]: [false, false, false, false],
      [outsider.admin]: [false, false, false, false],
    };
    // One check at a time: the shared test OpenFGA is slow under parallel load.
    for (const object of [`park:${park}`, `portfolio:${org.portfolioId}`]) {
      for (const [user, want] of Object.entries(expected)) {
        const got: boolean[] = [];
        for (const p of perms) got.push(await can(user, p, object));
        expect(got, `${user} on ${object}`).toEqual(want);
      }
    }
  });
});

describe("concurrency and documentation", () => {
  it("R-H2 concurrent idempotent PUTs of one new portfolio: one 201, the others 200, one row and one audit", async () => {
    const org = await createOrg(t);
    const id = resourceId("pf");
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        t.json("PUT", `/v1/portfolios/${id}`, {
          actor: org.admin,
          body: { organizationId: org.id, name: "Same" },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    expect(await t.sql`select 1 from portfolios where id = ${id}`).toHaveLength(1);
    expect(await auditOf(id)).toEqual(["portfolio.created"]);
  });

  it("a park created while its portfolio is deleted: either the park exists and the delete was refused, or neither", async () => {
    const org = await createOrg(t);
    const pf = await createPortfolio(t, org.admin, org.id);
    const park = resourceId("park");
    const [del, put] = await Promise.all([
      t.json("DELETE", `/v1/portfolios/${pf}`, { actor: org.admin }),
      t.json("PUT", `/v1/parks/${park}`, { actor: org.admin, body: { portfolioId: pf, name: "Race" } }),
    ]);
    const parkExists = (await t.sql`select 1 from parks where id = ${park}`).length === 1;
    const pfExists = (await t.sql`select 1 from portfolios where id = ${pf}`).length === 1;
    if (parkExists) {
      expect([put.status, del.status, pfExists]).toEqual([201, 409, true]);
    } else {
      expect([del.status, put.status, pfExists]).toEqual([204, 404, false]);
    }
  });
});
