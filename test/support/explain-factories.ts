import type { JobLevel, ResourceType } from "../../src/engine/permissions.js";
import { metrics } from "../../src/metrics.js";
import type { TestContext } from "./app.js";
import { activeCooperation, share } from "./coop-factories.js";
import { addMemberTo, createOrg } from "./factories.js";
import { orgWithRoles } from "./org-factories.js";
import { createPark } from "./resource-factories.js";

/**
 * A request retried while the engine does not answer in time (503), as
 * coop-factories decide() does: the shared test OpenFGA runs on a small, busy
 * machine. Any other answer is returned as it is.
 */
export async function patient(
  t: TestContext,
  method: string,
  path: string,
  opts: Parameters<TestContext["json"]>[2],
) {
  for (let attempt = 1; ; attempt++) {
    const res = await t.json(method, path, opts);
    if (res.status !== 503 || attempt >= 4) return res;
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** POST /v1/explain as `actor` about `user` (AuthZEN shapes). */
export function explain(
  t: TestContext,
  actor: string,
  user: string,
  action: string,
  resource: { type: string; id: string },
) {
  return patient(t, "POST", "/v1/explain", {
    actor,
    body: { subject: { type: "user", id: user }, action: { name: action }, resource },
  });
}

/** explain() that must answer 200; returns the body. */
export async function explained(
  t: TestContext,
  actor: string,
  user: string,
  action: string,
  resource: { type: string; id: string },
) {
  const res = await explain(t, actor, user, action, resource);
  if (res.status !== 200) throw new Error(`explain ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export const park = (id: string) => ({ type: "park" as const, id });
export const portfolio = (id: string) => ({ type: "portfolio" as const, id });
export const org = (id: string) => ({ type: "organization" as const, id });

/** PUT a share level through the cooperations API as the owner admin. */
export async function putShare(
  t: TestContext,
  actor: string,
  coopId: string,
  on: { type: ResourceType; id: string },
  level: JobLevel,
) {
  const res = await t.json("PUT", `/v1/cooperations/${coopId}/shares/${on.type}/${on.id}`, {
    actor,
    body: { level },
  });
  if (res.status !== 200) throw new Error(`share ${res.status}: ${JSON.stringify(res.body)}`);
}

/** The current value of authz_explain_inconsistencies_total for one endpoint. */
export async function inconsistencies(endpoint: string): Promise<number> {
  const m = await metrics().explainInconsistencies.get();
  return m.values.find((v) => v.labels.endpoint === endpoint)?.value ?? 0;
}

/**
 * An owner organization with one member of every role and a park in its first
 * portfolio; a partner organization (admin, member, external) with an active
 * cooperation sharing the portfolio at `level`.
 */
export async function sharedWorld(t: TestContext, level: JobLevel = "technical_manager") {
  const owner = await orgWithRoles(t);
  const parkId = await createPark(t, owner.admin, owner.portfolioId);
  const partner = await createOrg(t);
  const pm = await addMemberTo(t, partner.id, "member");
  const pe = await addMemberTo(t, partner.id, "external");
  const coop = await activeCooperation(t, {
    owner: owner.id,
    partner: partner.id,
    shares: [share("portfolio", owner.portfolioId, level)],
  });
  return { owner, park: parkId, partner, pm, pe, coopId: coop.id };
}
