import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../support/app.js";
import { activeCooperation, pendingCooperation, share } from "../support/coop-factories.js";
import { addMemberTo, createOrg } from "../support/factories.js";

describe("reading cooperations", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "10000" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("R-C2 R-C5 both sides' admins read a cooperation with state, expiry and shares; others may not", async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    const expiresAt = new Date(Date.now() + 86_400_000);
    const c = await activeCooperation(t, {
      owner: a.id,
      partner: b.id,
      shares: [share("portfolio", a.portfolioId, "viewer")],
      expiresAt,
    });
    const expected = {
      id: c.id,
      ownerOrganizationId: a.id,
      partnerOrganizationId: b.id,
      state: "active",
      expiresAt: expiresAt.toISOString(),
      shares: [{ resource: { type: "portfolio", id: a.portfolioId }, level: "viewer" }],
    };
    for (const actor of [a.admin, b.admin]) {
      const res = await t.json("GET", `/v1/cooperations/${c.id}`, { actor });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject(expected);
    }
    const moderator = await addMemberTo(t, b.id, "moderator");
    const outsider = (await createOrg(t)).admin;
    for (const actor of [moderator, outsider]) {
      const res = await t.json("GET", `/v1/cooperations/${c.id}`, { actor });
      expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
    }
    const missing = await t.json("GET", "/v1/cooperations/coop_missing", { actor: a.admin });
    expect([missing.status, missing.body.code]).toEqual([404, "cooperation-not-found"]);
    const bad = await t.json("GET", "/v1/cooperations/bad%20id", { actor: a.admin });
    expect(bad.status).toBe(400);
  });

  it("lists outgoing and incoming cooperations for the organization's admins, paginated", async () => {
    const hub = await createOrg(t);
    const partners = [await createOrg(t), await createOrg(t), await createOrg(t)];
    const out = [];
    for (const p of partners) out.push(await activeCooperation(t, { owner: hub.id, partner: p.id }));
    const incoming = await pendingCooperation(t, { owner: partners[0]!.id, partner: hub.id });
    const ids = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `${query}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
        const res = await t.json("GET", `/v1/organizations/${hub.id}/cooperations?${q}`, {
          actor: hub.admin,
        });
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((i: { id: string }) => i.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return seen.sort();
    };
    expect(await ids("direction=outgoing")).toEqual(out.map((c) => c.id).sort());
    expect(await ids("direction=incoming")).toEqual([incoming.id]);
    expect(await ids("x=1")).toEqual([...out.map((c) => c.id), incoming.id].sort());
    const first = await t.json("GET", `/v1/organizations/${hub.id}/cooperations?direction=incoming`, {
      actor: hub.admin,
    });
    expect(first.body).toMatchObject({
      items: [{ id: incoming.id, state: "pending", ownerOrganizationId: partners[0]!.id }],
      nextCursor: null,
    });
    // The partner sees the same cooperation as incoming; members and other admins may not list.
    const theirs = await t.json(
      "GET",
      `/v1/organizations/${partners[1]!.id}/cooperations?direction=incoming`,
      {
        actor: partners[1]!.admin,
      },
    );
    expect(theirs.body.items.map((i: { id: string }) => i.id)).toEqual([out[1]!.id]);
    const member = await addMemberTo(t, hub.id, "member");
    for (const actor of [member, partners[1]!.admin]) {
      const res = await t.json("GET", `/v1/organizations/${hub.id}/cooperations`, { actor });
      expect(res.status).toBe(403);
    }
    for (const q of ["direction=sideways", "limit=0", "limit=501", "cursor=%25%25"]) {
      const res = await t.json("GET", `/v1/organizations/${hub.id}/cooperations?${q}`, { actor: hub.admin });
      expect(res.status).toBe(400);
    }
  });
});
