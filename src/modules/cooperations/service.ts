import { can } from "../../engine/authorize.js";
import { engineObject } from "../../engine/ids.js";
import type { JobLevel, ResourceType } from "../../engine/permissions.js";
import { runChange, runChangeAndRead } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Forbidden } from "../../kernel/errors.js";
import { isCursorId, isCursorTimestamp, type KeysetList, keysetPage } from "../../kernel/paging.js";
import type { ShareRow } from "../../kernel/tuples.js";
import { type CooperationRow, type ReadState, readState } from "./aggregate.js";
import * as repo from "./repo.js";
import * as shares from "./shares.js";

const COOPERATIONS: KeysetList<{ cursorAt: string; id: string }> = {
  kind: "cooperations",
  parts: [isCursorTimestamp, isCursorId],
  keyOf: (r) => [r.cursorAt, r.id],
};

/**
 * Cooperation verbs after creation (R-C1…R-C11): authority through the model
 * (`can_manage_cooperations` on the owner or partner organization), then the
 * change as one unit of work in the aggregate. Reading and shares here;
 * lifecycle.ts holds pause, resume, end and expiry.
 */

export interface CooperationView {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: ReadState;
  expiresAt: string | null;
  createdAt: string;
  shares: { resource: { type: ResourceType; id: string }; level: JobLevel }[];
}

function view(deps: Deps, c: CooperationRow & { createdAt: Date }, all: ShareRow[]): CooperationView {
  return {
    id: c.id,
    ownerOrganizationId: c.ownerOrganizationId,
    partnerOrganizationId: c.partnerOrganizationId,
    state: readState(c, deps.now()),
    expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
    createdAt: c.createdAt.toISOString(),
    shares: all
      .filter((s) => s.cooperationId === c.id)
      .map((s) => ({ resource: { type: s.resourceType, id: s.resourceId }, level: s.level })),
  };
}

type Side = "owner" | "partner";

/** Load a cooperation and require the actor to administer one of `sides` (R-C2). */
export async function authorize(deps: Deps, ctx: ActorContext, id: string, sides: Side[]) {
  const c = await repo.loadCooperation(deps.sql, id);
  for (const side of sides) {
    const org = side === "owner" ? c.ownerOrganizationId : c.partnerOrganizationId;
    if (org && (await can(deps, ctx.actorId, "can_manage_cooperations", engineObject("organization", org))))
      return c;
  }
  throw Forbidden(
    "forbidden",
    `only admins of the ${sides.join(" or ")} organization may do this on cooperation ${id}`,
  );
}

export async function load(deps: Deps, id: string): Promise<CooperationView> {
  const c = await repo.loadCooperation(deps.sql, id);
  return view(deps, c, await repo.sharesOf(deps.sql, [id]));
}

export async function getCooperation(deps: Deps, ctx: ActorContext, id: string) {
  await authorize(deps, ctx, id, ["owner", "partner"]);
  return load(deps, id);
}

export async function listCooperations(
  deps: Deps,
  ctx: ActorContext,
  q: { organizationId: string; direction?: "outgoing" | "incoming"; limit: number; cursor?: string },
) {
  const object = engineObject("organization", q.organizationId);
  if (!(await can(deps, ctx.actorId, "can_manage_cooperations", object))) {
    throw Forbidden("forbidden", `the actor lacks can_manage_cooperations on ${object}`);
  }
  const { rows, nextCursor } = await keysetPage(COOPERATIONS, q, (limit, key) => {
    const after = key ? { createdAt: key[0]!, id: key[1]! } : null;
    return repo.listCooperations(deps.sql, {
      organizationId: q.organizationId,
      direction: q.direction,
      limit,
      after,
    });
  });
  const all = await repo.sharesOf(
    deps.sql,
    rows.map((c) => c.id),
  );
  return { items: rows.map((c) => view(deps, c, all)), nextCursor };
}

/** R-C3, R-C4: add or change a share on a resource the owner organization owns. */
export async function putShare(
  deps: Deps,
  ctx: ActorContext,
  id: string,
  resource: { type: ResourceType; id: string },
  level: JobLevel,
) {
  await authorize(deps, ctx, id, ["owner"]);
  return runChangeAndRead(
    deps,
    ctx,
    (uow) => shares.putShare(uow, id, resource, level),
    (d) => load(d, id),
  );
}

/** R-C9: removing a share deletes the delegations no remaining share covers. */
export async function deleteShare(
  deps: Deps,
  ctx: ActorContext,
  id: string,
  resource: { type: ResourceType; id: string },
) {
  await authorize(deps, ctx, id, ["owner"]);
  await runChange(deps, ctx, (uow) => shares.deleteShare(uow, id, resource));
}
