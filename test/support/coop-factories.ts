import type { JobLevel, ResourceType } from "../../src/engine/permissions.js";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import {
  activateCooperation,
  type CooperationRow,
  createPendingCooperation,
  type ShareInput,
} from "../../src/modules/cooperations/index.js";
import type { TestContext } from "./app.js";
import { addMemberTo, createOrg, grants, parks, userId } from "./factories.js";

/** Shorthand for a share: `share("park", id, "operator")`. */
export function share(type: ResourceType, id: string, level: JobLevel): ShareInput {
  return { resource: { type, id }, level };
}

/** A pending cooperation owner → partner (nothing shared yet, R-C6), through the domain verbs. */
export async function pendingCooperation(
  t: TestContext,
  c: { owner: string; partner: string | null; shares?: ShareInput[]; expiresAt?: Date | null },
): Promise<CooperationRow> {
  return runChange(t.deps, t.actor("system"), (uow) =>
    createPendingCooperation(uow, {
      ownerOrganizationId: c.owner,
      partnerOrganizationId: c.partner,
      expiresAt: c.expiresAt ?? null,
      shares: c.shares ?? [],
    }),
  );
}

/** An active cooperation owner → partner with its shares, as an accepted invitation leaves it. */
export async function activeCooperation(
  t: TestContext,
  c: { owner: string; partner: string; shares?: ShareInput[]; expiresAt?: Date | null },
): Promise<CooperationRow> {
  return runChange(t.deps, t.actor("system"), async (uow) => {
    const pending = await createPendingCooperation(uow, {
      ownerOrganizationId: c.owner,
      partnerOrganizationId: c.partner,
      expiresAt: c.expiresAt ?? null,
      shares: c.shares ?? [],
    });
    return activateCooperation(uow, pending.id, c.partner);
  });
}

/** A park in an organization's portfolio (rows + tuples), for tests that run before the resources API. */
export async function parkIn(
  t: TestContext,
  p: { organizationId: string; portfolioId: string; id?: string; name?: string },
): Promise<string> {
  const id = p.id ?? userId("park");
  await parks(t, p.organizationId, p.portfolioId, [id], () => p.name ?? id);
  return id;
}

/** A delegation (what the grants endpoint writes for a partner admin), without going through the API. */
export async function delegation(
  t: TestContext,
  d: {
    cooperationId: string;
    partnerOrganizationId: string;
    resource: { type: ResourceType; id: string };
    userId: string;
    level: JobLevel;
    grantedBy: string;
  },
): Promise<void> {
  await grants(t, [
    {
      resourceType: d.resource.type,
      resourceId: d.resource.id,
      userId: d.userId,
      level: d.level,
      organizationId: d.partnerOrganizationId,
      cooperationId: d.cooperationId,
      grantedBy: d.grantedBy,
    },
  ]);
}

/**
 * Two organizations ready to cooperate: the owner with its first portfolio and
 * a park in it; the partner with an admin, an asset_manager_technical, a
 * member and an external.
 */
export async function coopWorld(t: TestContext) {
  const owner = await createOrg(t);
  const partner = await createOrg(t);
  const park = await parkIn(t, { organizationId: owner.id, portfolioId: owner.portfolioId });
  const amt = await addMemberTo(t, partner.id, "asset_manager_technical");
  const member = await addMemberTo(t, partner.id, "member");
  const external = await addMemberTo(t, partner.id, "external");
  return { owner, partner, park, portfolio: owner.portfolioId, amt, member, external };
}

/**
 * One decision through POST /access/v1/evaluation, retried when the engine
 * does not answer in time (503): the shared test OpenFGA runs on a small,
 * busy machine. A deny is an answer and never retried.
 */
export async function decide(t: TestContext, user: string, action: string, object: string): Promise<boolean> {
  const [type, id] = [object.slice(0, object.indexOf(":")), object.slice(object.indexOf(":") + 1)];
  const body = { subject: { type: "user", id: user }, action: { name: action }, resource: { type, id } };
  for (let attempt = 1; ; attempt++) {
    const res = await t.json("POST", "/access/v1/evaluation", { key: "decide", body });
    if (res.status === 200) return res.body.decision === true;
    if (res.status !== 503 || attempt >= 4)
      throw new Error(`evaluation ${res.status}: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** A delegation through the grants endpoint, as the partner admin makes it (R-C8). */
export async function delegate(
  t: TestContext,
  d: { actor: string; resource: { type: ResourceType; id: string }; userId: string; level: JobLevel },
) {
  return t.json("PUT", `/v1/${d.resource.type}s/${d.resource.id}/grants/${d.userId}`, {
    actor: d.actor,
    body: { level: d.level },
  });
}

/** delegate() that must succeed (201 created). */
export async function delegated(t: TestContext, d: Parameters<typeof delegate>[1]): Promise<void> {
  const res = await delegate(t, d);
  if (res.status !== 201) throw new Error(`delegation refused: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * Every decision of users × actions × objects, as "user action object" → allowed.
 * Single checks, four at a time: large server-side batches hit OpenFGA's
 * request deadline on a loaded CI machine.
 */
export async function decisionMatrix(
  t: TestContext,
  users: string[],
  actions: readonly string[],
  objects: string[],
): Promise<Record<string, boolean>> {
  const items = users.flatMap((u) => actions.flatMap((a) => objects.map((o) => ({ u, a, o }))));
  const out: Record<string, boolean> = {};
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const it = items[next++]!;
      out[`user:${it.u} ${it.a} ${it.o}`] = await decide(t, it.u, it.a, it.o);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}
