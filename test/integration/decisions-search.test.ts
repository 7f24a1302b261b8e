import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { PUBLIC_PERMISSIONS } from "../../src/engine/permissions.js";
import { findOpenFgaBinary, type LocalOpenFga, startLocalOpenFga } from "../../src/local/openfga.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { parkIn } from "../support/coop-factories.js";
import { addMemberTo, createOrg, userId } from "../support/factories.js";
import { createActiveCooperation, createPortfolio, grant } from "../support/resource-factories.js";

const user = (id: string) => ({ type: "user", id });
const names = (body: { results: { id?: string; name?: string }[] }) =>
  body.results.map((r) => r.id ?? r.name ?? "");
const TIMEOUTS = { OPENFGA_TIMEOUT_MS: "5000", OPENFGA_SEARCH_TIMEOUT_MS: "20000" };

/**
 * An organization with `parks` parks and a member holding viewer grants on the
 * first `granted`, through the units of work (rows + tuples, as the service
 * writes them: the resource search asks the database for its candidates).
 */
async function world(t: TestContext, parks: number, granted: number) {
  const org = await createOrg(t);
  const viewer = await addMemberTo(t, org.id, "member");
  const ids = Array.from({ length: parks }, (_, i) => `park-${i}`);
  for (const id of ids) await parkIn(t, { id, organizationId: org.id, portfolioId: org.portfolioId });
  for (const id of ids.slice(0, granted)) await grant(t, org.admin, "park", id, viewer, "viewer");
  return { org, viewer, ids };
}

describe("decisions: search endpoints", () => {
  let t: TestContext;
  let w: Awaited<ReturnType<typeof world>>;
  const post = (path: string, body: unknown) =>
    t.json("POST", `/access/v1/search/${path}`, { body, key: "decide" });

  beforeAll(async () => {
    t = await createTestContext({ config: TIMEOUTS });
    w = await world(t, 7, 3);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("search/resource pages through more results than one page with opaque tokens; the last next_token is empty", async () => {
    const q = { subject: user(w.org.admin), action: { name: "can_view" }, resource: { type: "park" } };
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await post("resource", { ...q, page: { limit: 3, ...(token ? { token } : {}) } });
      expect(res.status).toBe(200);
      expect(res.body.results.every((r: { type: string }) => r.type === "park")).toBe(true);
      expect(res.body.page.count).toBe(res.body.results.length);
      expect(res.body.page.total).toBe(7);
      seen.push(...names(res.body));
      token = res.body.page.next_token;
      pages++;
      if (pages < 3) expect(token).not.toBe("");
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual([...w.ids].sort());
    const viewer = await post("resource", { ...q, subject: user(w.viewer) });
    expect(names(viewer.body)).toEqual(["park-0", "park-1", "park-2"]);
    expect(viewer.body.page.next_token).toBe("");
  });

  it("refuses a page token reused with other parameters, and a forged token (400)", async () => {
    const q = { subject: user(w.org.admin), action: { name: "can_view" }, resource: { type: "park" } };
    const first = await post("resource", { ...q, page: { limit: 2 } });
    const token = first.body.page.next_token;
    const changed = await post("resource", { ...q, action: { name: "can_use_vpn" }, page: { token } });
    expect([changed.status, changed.body.code]).toEqual([400, "page-token-mismatch"]);
    const otherEndpoint = await post("subject", {
      subject: { type: "user" },
      action: { name: "can_view" },
      resource: { type: "park", id: "park-0" },
      page: { token },
    });
    expect([otherEndpoint.status, otherEndpoint.body.code]).toEqual([400, "page-token-mismatch"]);
    const forged = await post("resource", { ...q, page: { token: "bm9wZQ" } });
    expect([forged.status, forged.body.code]).toEqual([400, "invalid-page-token"]);
    // A changed limit is fine: the token carries the offset.
    const more = await post("resource", { ...q, page: { token, limit: 10 } });
    expect(names(more.body)).toEqual([...w.ids].sort().slice(2));
  });

  it("search/subject lists the users who hold a permission, paged", async () => {
    const q = {
      subject: { type: "user" },
      action: { name: "can_view" },
      resource: { type: "park", id: "park-1" },
    };
    const all = await post("subject", q);
    expect(all.status).toBe(200);
    expect(all.body.results).toEqual([w.org.admin, w.viewer].sort().map(user));
    const first = await post("subject", { ...q, page: { limit: 1 } });
    expect(first.body.results).toHaveLength(1);
    const second = await post("subject", { ...q, page: { limit: 1, token: first.body.page.next_token } });
    expect([...first.body.results, ...second.body.results]).toEqual(all.body.results);
    expect(second.body.page.next_token).toBe("");
    const vpn = await post("subject", { ...q, action: { name: "can_use_vpn" } });
    expect(vpn.body.results).toEqual([user(w.org.admin)]);
  });

  it("searches never answer internal relations, unknown types or malformed ids (empty results)", async () => {
    for (const name of ["lvl_viewer", "own_operator", "can_fly"]) {
      const r = await post("resource", {
        subject: user(w.org.admin),
        action: { name },
        resource: { type: "park" },
      });
      expect([r.status, r.body.results, r.body.page.next_token]).toEqual([200, [], ""]);
      const s = await post("subject", {
        subject: { type: "user" },
        action: { name },
        resource: { type: "park", id: "park-1" },
      });
      expect([s.status, s.body.results]).toEqual([200, []]);
    }
    const badId = await post("resource", {
      subject: user("a b"),
      action: { name: "can_view" },
      resource: { type: "park" },
    });
    expect(badId.body.results).toEqual([]);
  });

  it("search/action answers only SPEC §2 permissions the subject holds", async () => {
    const viewer = await post("action", {
      subject: user(w.viewer),
      resource: { type: "park", id: "park-1" },
    });
    expect(viewer.status, JSON.stringify(viewer.body)).toBe(200);
    expect(names(viewer.body).sort()).toEqual(["can_generate_report", "can_read_ticket", "can_view"]);
    expect(viewer.body.page.next_token).toBe("");
    const admin = await post("action", {
      subject: user(w.org.admin),
      resource: { type: "park", id: "park-1" },
    });
    expect(names(admin.body).sort()).toEqual([...PUBLIC_PERMISSIONS.park!].sort());
    const member = await post("action", {
      subject: user(w.viewer),
      resource: { type: "organization", id: w.org.id },
    });
    expect(names(member.body)).toEqual(["can_view"]);
    const stranger = await post("action", {
      subject: user(userId("x")),
      resource: { type: "park", id: "park-1" },
    });
    expect(stranger.body.results).toEqual([]);
    const unknown = await post("action", {
      subject: user(w.org.admin),
      resource: { type: "cooperation", id: "c" },
    });
    expect(unknown.body.results).toEqual([]);
  });

  it("R-G4: refuses missing or wrongly typed search fields with 400", async () => {
    const cases: [string, unknown, string][] = [
      ["resource", { subject: user("a"), action: { name: "can_view" } }, "resource"],
      ["resource", { subject: user("a"), action: { name: "can_view" }, resource: {} }, "resource.type"],
      [
        "resource",
        { subject: user("a"), action: { name: "can_view" }, resource: { type: "park" }, page: { limit: 0 } },
        "page.limit",
      ],
      [
        "resource",
        {
          subject: user("a"),
          action: { name: "can_view" },
          resource: { type: "park" },
          page: { limit: "3" },
        },
        "page.limit",
      ],
      [
        "subject",
        { subject: { type: "user" }, action: { name: "can_view" }, resource: { type: "park" } },
        "resource.id",
      ],
      ["subject", { action: { name: "can_view" }, resource: { type: "park", id: "p" } }, "subject"],
      ["action", { subject: user("a"), resource: { type: "park" } }, "resource.id"],
      ["action", { subject: { id: "a" }, resource: { type: "park", id: "p" } }, "subject.type"],
    ];
    for (const [path, body, field] of cases) {
      const res = await post(path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe("invalid-request");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    const wrongType = await t.json("POST", "/access/v1/search/action", {
      body: "{}",
      key: "decide",
      headers: { "content-type": "text/plain", "x-request-id": "search-1" },
    });
    expect([wrongType.status, wrongType.res.headers.get("x-request-id")]).toEqual([415, "search-1"]);
  });
});

describe("decisions: searches never return a silently truncated result", () => {
  let fga: LocalOpenFga;
  let t: TestContext;
  beforeAll(async () => {
    fga = await startLocalOpenFga({
      bin: await findOpenFgaBinary(),
      engine: "memory",
      extraArgs: ["--listObjects-max-results", "5", "--listUsers-max-results", "5"],
    });
    t = await createTestContext({
      openfgaUrl: fga.url,
      config: { ...TIMEOUTS, OPENFGA_LIST_MAX_RESULTS: "5" },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fga?.stop();
  });

  it("resource search is complete beyond OpenFGA's ListObjects cap; ListUsers at its cap answers 503 search-incomplete", async () => {
    const w = await world(t, 7, 4);
    const q = { subject: user(w.org.admin), action: { name: "can_view" }, resource: { type: "park" } };
    // The engine's ListObjects cuts the answer at 5 of 7 parks without saying so...
    expect(await t.engine.listObjects(`user:${w.org.admin}`, "can_view", "park")).toHaveLength(5);
    // ...the resource search asks the engine about the database's candidates instead: all 7.
    const full = await t.json("POST", "/access/v1/search/resource", { body: q, key: "decide" });
    expect(full.status).toBe(200);
    expect(full.body.page.total).toBe(7);
    const below = await t.json("POST", "/access/v1/search/resource", {
      body: { ...q, subject: user(w.viewer) },
      key: "decide",
    });
    expect(below.status).toBe(200);
    expect(names(below.body)).toEqual(["park-0", "park-1", "park-2", "park-3"]);

    // ListUsers has the same cap: six people can view park-0 (admin + five members).
    for (let i = 0; i < 4; i++) {
      const m = await addMemberTo(t, w.org.id, "member");
      await grant(t, w.org.admin, "park", "park-0", m, "viewer");
    }
    const subjects = await t.json("POST", "/access/v1/search/subject", {
      body: {
        subject: { type: "user" },
        action: { name: "can_view" },
        resource: { type: "park", id: "park-0" },
      },
      key: "decide",
    });
    expect([subjects.status, subjects.body.code]).toEqual([503, "search-incomplete"]);
  });

  it("answers 503 search-incomplete when a search takes about as long as the engine's deadline", async () => {
    const app = createApp({ ...t.deps, config: { ...t.config, OPENFGA_LIST_DEADLINE_MS: 1 } });
    const res = await app.request("/access/v1/search/subject", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.keys.decide}` },
      body: JSON.stringify({
        subject: { type: "user" },
        action: { name: "can_view" },
        resource: { type: "park", id: "park-0" },
      }),
    });
    expect(res.status).toBe(503);
    expect((await res.json()).code).toBe("search-incomplete");
  });
});

describe("decisions: resource search through cooperations (candidates from the database, engine decides)", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: TIMEOUTS });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("partner admins find shared parks and the parks of shared portfolios; delegates their delegated parks; nothing once paused", async () => {
    const owner = await createOrg(t);
    const partner = await createOrg(t);
    const inPf = await parkIn(t, { organizationId: owner.id, portfolioId: owner.portfolioId });
    const pf2 = await createPortfolio(t, owner.admin, owner.id);
    const alone = await parkIn(t, { organizationId: owner.id, portfolioId: pf2 });
    const notShared = await parkIn(t, { organizationId: owner.id, portfolioId: pf2 });
    const coop = await createActiveCooperation(t, owner.id, partner.id, [
      { resource: { type: "portfolio", id: owner.portfolioId }, level: "viewer" },
      { resource: { type: "park", id: alone }, level: "operator" },
    ]);
    const delegate = await addMemberTo(t, partner.id, "member");
    const d = await t.json("PUT", `/v1/parks/${alone}/grants/${delegate}`, {
      actor: partner.admin,
      body: { level: "viewer" },
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const search = async (u: string, action = "can_view") => {
      const res = await t.json("POST", "/access/v1/search/resource", {
        key: "decide",
        body: { subject: user(u), action: { name: action }, resource: { type: "park" } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return names(res.body);
    };
    expect(await search(partner.admin)).toEqual([inPf, alone].sort());
    expect(await search(partner.admin, "can_use_vpn")).toEqual([alone]);
    expect(await search(delegate)).toEqual([alone]);
    expect(await search(owner.admin)).toEqual([inPf, alone, notShared].sort());
    const paused = await t.json("POST", `/v1/cooperations/${coop}/pause`, { actor: owner.admin });
    expect(paused.status).toBe(200);
    expect(await search(partner.admin)).toEqual([]);
    expect(await search(delegate)).toEqual([]);
  });
});
