import pino from "pino";
import { describe, expect, it } from "vitest";
import { grantTuples, membershipTuples } from "../../src/kernel/tuples.js";
import type { TestContext } from "../support/app.js";
import { activeCooperation, decide, delegated, share } from "../support/coop-factories.js";
import {
  explained,
  inconsistencies,
  park,
  patient,
  portfolio,
  putShare,
  sharedWorld,
} from "../support/explain-factories.js";
import { addMemberTo, createOrg } from "../support/factories.js";
import { contextHooks } from "../support/org-factories.js";
import { createPark, grant } from "../support/resource-factories.js";

let t: TestContext;
contextHooks((c) => {
  t = c;
});

/** Every page of a list, following nextCursor with `limit`. */
async function allPages(path: string, actor: string, limit: number) {
  const items: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 50; i++) {
    const q: string = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await patient(t, "GET", `${path}${q}`, { actor });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (!cursor) return items;
  }
  throw new Error("too many pages");
}

describe("GET /v1/{parks|portfolios}/{id}/access (can_manage_access)", () => {
  it("lists every holder with levels and reasons, own organization first, then each partner with its cooperation", async () => {
    const w = await sharedWorld(t, "technical_manager");
    await grant(t, w.owner.admin, "portfolio", w.owner.portfolioId, w.owner.ids.member, "asset_manager");
    await delegated(t, {
      actor: w.partner.admin,
      resource: park(w.park),
      userId: w.pm,
      level: "technical_manager",
    });
    const full = await patient(t, "GET", `/v1/parks/${w.park}/access?limit=500`, { actor: w.owner.admin });
    expect(full.status, JSON.stringify(full.body)).toBe(200);
    expect(full.body.nextCursor).toBeNull();
    const byUser = Object.fromEntries(full.body.items.map((i: any) => [i.userId, i]));
    const ids = w.owner.ids;
    // The owner's external and the partner's external hold nothing: not listed.
    expect(Object.keys(byUser).sort()).toEqual(
      [
        ids.admin,
        ids.moderator,
        ids.asset_manager_technical,
        ids.asset_manager_commercial,
        ids.member,
        w.partner.admin,
        w.pm,
      ].sort(),
    );
    const own = full.body.items.slice(0, 5);
    expect(own.every((i: any) => i.organizationId === w.owner.id && i.cooperationId === null)).toBe(true);
    expect(own.map((i: any) => i.userId)).toEqual([...own.map((i: any) => i.userId)].sort());
    expect(byUser[ids.admin]).toMatchObject({
      levels: ["operator"],
      consistent: true,
      reasons: [{ kind: "role-baseline", role: "admin" }],
    });
    expect(byUser[ids.member]).toMatchObject({
      levels: ["asset_manager"],
      reasons: [{ kind: "grant", on: portfolio(w.owner.portfolioId), level: "asset_manager" }],
    });
    expect(byUser[w.partner.admin]).toMatchObject({
      organizationId: w.partner.id,
      cooperationId: w.coopId,
      levels: ["technical_manager"],
      reasons: [{ kind: "share", cooperationId: w.coopId }],
    });
    expect(byUser[w.pm]).toMatchObject({
      cooperationId: w.coopId,
      levels: ["technical_manager"],
      reasons: [{ kind: "delegation", level: "technical_manager", effectiveLevel: "technical_manager" }],
    });
    // A partner admin (manage_delegations) sees their own organization only (R-C11).
    const partnerView = await patient(t, "GET", `/v1/parks/${w.park}/access`, { actor: w.partner.admin });
    expect(partnerView.body.items.map((i: any) => i.userId).sort()).toEqual([w.partner.admin, w.pm].sort());
    // Pages of 2 give the same list in the same order.
    const paged = await allPages(`/v1/parks/${w.park}/access`, w.owner.admin, 2);
    expect(paged).toEqual(full.body.items);
  });

  it("refuses other actors (403), unknown resources (404), bad cursors and limits (400)", async () => {
    const w = await sharedWorld(t);
    const list = (actor: string, path: string) => t.json("GET", path, { actor });
    expect((await list(w.owner.ids.member, `/v1/parks/${w.park}/access`)).status).toBe(403);
    expect((await list(w.pm, `/v1/portfolios/${w.owner.portfolioId}/access`)).status).toBe(403);
    expect((await list(w.owner.ids.moderator, `/v1/portfolios/${w.owner.portfolioId}/access`)).status).toBe(
      200,
    );
    const gone = await list(w.owner.admin, "/v1/parks/no-such-park/access");
    expect([gone.status, gone.body.code]).toEqual([404, "park-not-found"]);
    // Credentials: no key 401, a key without the manage scope 403 (as every management route).
    for (const path of [`/v1/parks/${w.park}/access`, `/v1/organizations/${w.partner.id}/shared-with-us`]) {
      const none = await t.json("GET", path, { actor: w.owner.admin, key: null });
      expect(none.status).toBe(401);
      expect(none.res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await t.json("GET", path, { actor: w.owner.admin, key: "decide" })).status).toBe(403);
    }
    for (const q of ["?limit=0", "?limit=501", "?limit=x", "?cursor=bm9wZQ", `?cursor=${"A".repeat(600)}`]) {
      const res = await list(w.owner.admin, `/v1/parks/${w.park}/access${q}`);
      expect(res.status, q).toBe(400);
    }
  });
});

describe("GET /v1/organizations/{orgId}/shared-with-us (admins)", () => {
  it("lists incoming live cooperations with shares, levels, expiry and delegations at their effective level, paginated", async () => {
    const partner = await createOrg(t);
    const pm = await addMemberTo(t, partner.id, "member");
    const pe = await addMemberTo(t, partner.id, "external");
    const owners = [await createOrg(t), await createOrg(t), await createOrg(t)];
    const parkIds = [];
    const coops = [];
    for (const o of owners) {
      parkIds.push(await createPark(t, o.admin, o.portfolioId));
      coops.push(
        await activeCooperation(t, {
          owner: o.id,
          partner: partner.id,
          shares: [share("portfolio", o.portfolioId, "technical_manager")],
        }),
      );
    }
    const [c0, c1, c2] = coops as [(typeof coops)[0], (typeof coops)[0], (typeof coops)[0]];
    await putShare(t, owners[0]!.admin, c0.id, park(parkIds[0]!), "asset_manager");
    await delegated(t, {
      actor: partner.admin,
      resource: park(parkIds[0]!),
      userId: pm,
      level: "asset_manager",
    });
    await delegated(t, {
      actor: partner.admin,
      resource: park(parkIds[1]!),
      userId: pm,
      level: "technical_manager",
    });
    await delegated(t, {
      actor: partner.admin,
      resource: portfolio(owners[1]!.portfolioId),
      userId: pe,
      level: "viewer",
    });
    // R-C9: lowering the share caps the delegation under it at once.
    await putShare(t, owners[1]!.admin, c1.id, portfolio(owners[1]!.portfolioId), "viewer");
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await t.json("PATCH", `/v1/cooperations/${c1.id}`, { actor: owners[1]!.admin, body: { expiresAt } });
    expect(
      (await t.json("POST", `/v1/cooperations/${c2.id}/pause`, { actor: owners[2]!.admin })).status,
    ).toBe(200);

    const path = `/v1/organizations/${partner.id}/shared-with-us`;
    const items = await allPages(path, partner.admin, 1);
    expect(items.map((i) => i.cooperationId)).toEqual([c0.id, c1.id].sort());
    const byId = Object.fromEntries(items.map((i) => [i.cooperationId, i]));
    expect(byId[c0.id]).toEqual({
      cooperationId: c0.id,
      ownerOrganizationId: owners[0]!.id,
      expiresAt: null,
      shares: [
        {
          resource: park(parkIds[0]!),
          level: "asset_manager",
          delegations: [
            {
              userId: pm,
              resource: park(parkIds[0]!),
              level: "asset_manager",
              effectiveLevel: "asset_manager",
            },
          ],
        },
        { resource: portfolio(owners[0]!.portfolioId), level: "technical_manager", delegations: [] },
      ],
    });
    expect(byId[c1.id]).toEqual({
      cooperationId: c1.id,
      ownerOrganizationId: owners[1]!.id,
      expiresAt,
      shares: [
        {
          resource: portfolio(owners[1]!.portfolioId),
          level: "viewer",
          delegations: [
            {
              userId: pe,
              resource: portfolio(owners[1]!.portfolioId),
              level: "viewer",
              effectiveLevel: "viewer",
            },
            { userId: pm, resource: park(parkIds[1]!), level: "technical_manager", effectiveLevel: "viewer" },
          ].sort((a, b) => (a.userId < b.userId ? -1 : 1)),
        },
      ],
    });
    // The owner side and plain members may not read it; an unknown organization is 404.
    expect((await t.json("GET", path, { actor: pm })).status).toBe(403);
    expect((await t.json("GET", path, { actor: owners[0]!.admin })).status).toBe(403);
    expect((await t.json("GET", "/v1/organizations/org_nope/shared-with-us", { actor: pm })).status).toBe(
      404,
    );
    expect((await t.json("GET", `${path}?cursor=%%%`, { actor: partner.admin })).status).toBe(400);
  });
});

describe("OpenAPI", () => {
  it("documents the three routes with their request and answer schemas", async () => {
    const doc = await t.json("GET", "/openapi.json", { key: null });
    expect(doc.status).toBe(200);
    const ok = (path: string, method: string) => doc.body.paths[path]?.[method]?.responses?.["200"];
    expect(ok("/v1/explain", "post")).toBeDefined();
    expect(doc.body.paths["/v1/explain"].post.requestBody).toBeDefined();
    expect(ok("/v1/parks/{id}/access", "get")).toBeDefined();
    expect(ok("/v1/portfolios/{id}/access", "get")).toBeDefined();
    expect(ok("/v1/organizations/{orgId}/shared-with-us", "get")).toBeDefined();
    for (const name of [
      "ExplainRequest",
      "Explanation",
      "AccessReason",
      "AccessMissing",
      "AccessPage",
      "SharedWithUs",
    ])
      expect(doc.body.components.schemas[name], name).toBeDefined();
  });
});

describe("consistency: the engine's decision stands, the disagreement is reported and counted", () => {
  it("a tuple deleted behind the database's back: decision false, reasons from the rows, consistent false", async () => {
    const w = await sharedWorld(t);
    const m = w.owner.ids.member;
    await grant(t, w.owner.admin, "park", w.park, m, "viewer");
    const before = await inconsistencies("explain");
    await t.engine.write({
      writes: [],
      deletes: grantTuples({
        resourceType: "park",
        resourceId: w.park,
        userId: m,
        level: "viewer",
        cooperationId: null,
      }),
    });
    t.decisions.clear();
    // The warning goes to the service's logger: capture it for this request.
    const lines: any[] = [];
    const log = t.deps.log;
    t.deps.log = pino({ level: "warn" }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const e = await explained(t, m, m, "can_view", park(w.park)).finally(() => {
      t.deps.log = log;
    });
    expect(e).toMatchObject({
      decision: false,
      consistent: false,
      reasons: [{ kind: "grant", level: "viewer" }],
      missing: [{ kind: "engine-disagrees" }],
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        endpoint: "explain",
        subject: m,
        action: "can_view",
        resource: `park:${w.park}`,
        engine: false,
        database: true,
        actor: m,
        requestId: expect.any(String),
      }),
    ]);
    expect(await decide(t, m, "can_view", `park:${w.park}`)).toBe(false);
    expect(await inconsistencies("explain")).toBe(before + 1);
    // The access list asks the engine too: its levels stand, the item says so.
    const accessBefore = await inconsistencies("access");
    const list = await patient(t, "GET", `/v1/parks/${w.park}/access`, { actor: w.owner.admin });
    const item = list.body.items.find((i: any) => i.userId === m);
    expect(item).toMatchObject({ consistent: false, levels: [], reasons: [{ kind: "grant" }] });
    expect(list.body.items.filter((i: any) => !i.consistent)).toHaveLength(1);
    expect(await inconsistencies("access")).toBe(accessBefore + 1);
  });

  it("a tuple written behind the database's back: decision true, no reasons, consistent false", async () => {
    const w = await sharedWorld(t);
    const outsider = (await createOrg(t)).admin;
    await t.engine.write({
      writes: [
        ...membershipTuples({ userId: outsider, organizationId: w.owner.id, role: "member" }),
        ...grantTuples({
          resourceType: "park",
          resourceId: w.park,
          userId: outsider,
          level: "operator",
          cooperationId: null,
        }),
      ],
      deletes: [],
    });
    t.decisions.clear();
    const before = await inconsistencies("explain");
    const e = await explained(t, outsider, outsider, "can_use_vpn", park(w.park));
    expect(e).toMatchObject({ decision: true, consistent: false, reasons: [] });
    expect(e.missing).toBeUndefined();
    expect(await decide(t, outsider, "can_use_vpn", `park:${w.park}`)).toBe(true);
    expect(await inconsistencies("explain")).toBe(before + 1);
  });
});
