import { randomUUID } from "node:crypto";
import type { JobLevel, ResourceType } from "../../src/engine/permissions.js";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import { shareTuples } from "../../src/kernel/tuples.js";
import type { ShareInput } from "../../src/modules/cooperations/index.js";
import type { TestContext } from "./app.js";
import { activeCooperation } from "./coop-factories.js";

/** Factories for parks, portfolios and grants through the HTTP API (and cooperations through domain verbs). */

export function resourceId(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

async function expectOk(res: Promise<{ status: number; body: unknown }>, what: string) {
  const r = await res;
  if (r.status !== 200 && r.status !== 201) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Record<string, unknown>;
}

/** PUT /v1/portfolios/{id} as `actor`; returns the portfolio id. */
export async function createPortfolio(t: TestContext, actor: string, orgId: string, id = resourceId("pf")) {
  await expectOk(
    t.json("PUT", `/v1/portfolios/${id}`, {
      actor,
      body: { organizationId: orgId, name: `Portfolio ${id}` },
    }),
    `create portfolio ${id}`,
  );
  return id;
}

/** PUT /v1/parks/{id} as `actor`; returns the park id. */
export async function createPark(
  t: TestContext,
  actor: string,
  portfolioId: string,
  id = resourceId("park"),
) {
  await expectOk(
    t.json("PUT", `/v1/parks/${id}`, { actor, body: { portfolioId, name: `Park ${id}` } }),
    `create park ${id}`,
  );
  return id;
}

/** PUT /v1/{type}s/{id}/grants/{userId} as `actor` (a grant or a delegation); returns the grant view. */
export async function grant(
  t: TestContext,
  actor: string,
  type: ResourceType,
  id: string,
  userId: string,
  level: JobLevel,
) {
  return expectOk(
    t.json("PUT", `/v1/${type}s/${id}/grants/${userId}`, { actor, body: { level } }),
    `grant ${level} on ${type} ${id} to ${userId}`,
  );
}

/** An active cooperation owner → partner with shares (coop-factories.ts); returns its id. */
export async function createActiveCooperation(
  t: TestContext,
  ownerOrganizationId: string,
  partnerOrganizationId: string,
  shares: ShareInput[],
): Promise<string> {
  return (await activeCooperation(t, { owner: ownerOrganizationId, partner: partnerOrganizationId, shares }))
    .id;
}

/** Change a share's level in the database and the engine (until the cooperations API is used). */
export async function setShareLevel(
  t: TestContext,
  cooperationId: string,
  resource: { type: ResourceType; id: string },
  level: JobLevel,
): Promise<void> {
  await runChange(t.deps, t.actor("system"), async (uow) => {
    const [prev] = await uow.tx`select level from shares where cooperation_id = ${cooperationId}
      and resource_type = ${resource.type} and resource_id = ${resource.id} for update`;
    if (!prev) throw new Error("no such share");
    await uow.tx`update shares set level = ${level}, updated_at = now() where cooperation_id = ${cooperationId}
      and resource_type = ${resource.type} and resource_id = ${resource.id}`;
    const key = { cooperationId, resourceType: resource.type, resourceId: resource.id };
    uow.tuples(shareTuples({ ...key, level: prev.level }), shareTuples({ ...key, level }));
  });
}
