import { can } from "../../domain/authorize.js";
import {
  type CooperationRow,
  cooperationOrgIds,
  lockCooperation,
  pruneUncoveredDelegations,
  removeShareRow,
} from "../../domain/cooperations.js";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { Conflict, Forbidden, NotFound } from "../../domain/errors.js";
import { decodeCursor, encodeCursor, fetchPage, isCursorId, isCursorTimestamp } from "../../domain/paging.js";
import { shareTuples } from "../../domain/tuples.js";
import { runChange, runChangeAndRead, type UnitOfWork } from "../../domain/unit-of-work.js";
import { engineObject } from "../../engine/ids.js";
import type { JobLevel, ResourceType } from "../../engine/permissions.js";
import * as repo from "./repo.js";

/**
 * Cooperation verbs after creation (R-C1…R-C11): authority through the model
 * (`can_manage_cooperations` on the owner or partner organization), then the
 * change as one unit of work. Reading and shares here; lifecycle.ts holds
 * pause, resume, end and expiry.
 */

export type ReadState = "pending" | "active" | "paused" | "expired" | "ended";

export interface CooperationView {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: ReadState;
  expiresAt: string | null;
  createdAt: string;
  shares: { resource: { type: ResourceType; id: string }; level: JobLevel }[];
}

/** R-C5: an active cooperation whose expiry has passed reads `expired` (computed, never stored). */
export function readState(c: Pick<CooperationRow, "state" | "expiresAt">, now: Date): ReadState {
  if (c.state === "active" && c.expiresAt && c.expiresAt.getTime() <= now.getTime()) return "expired";
  return c.state;
}

function view(deps: Deps, c: CooperationRow & { createdAt: Date }, shares: repo.ShareRow[]): CooperationView {
  return {
    id: c.id,
    ownerOrganizationId: c.ownerOrganizationId,
    partnerOrganizationId: c.partnerOrganizationId,
    state: readState(c, deps.now()),
    expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
    createdAt: c.createdAt.toISOString(),
    shares: shares
      .filter((s) => s.cooperationId === c.id)
      .map(({ resource, level }) => ({ resource, level })),
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
  const key = decodeCursor("cooperations", q.cursor, [isCursorTimestamp, isCursorId]);
  const { rows, nextCursor } = await fetchPage(
    q.limit,
    (n) =>
      repo.listCooperations(deps.sql, {
        organizationId: q.organizationId,
        direction: q.direction,
        limit: n,
        after: key ? { createdAt: key[0]!, id: key[1]! } : null,
      }),
    (last) => encodeCursor("cooperations", [last.cursorAt, last.id]),
  );
  const shares = await repo.sharesOf(
    deps.sql,
    rows.map((c) => c.id),
  );
  return { items: rows.map((c) => view(deps, c, shares)), nextCursor };
}

/** Lock the row and refuse changes to an ended cooperation. */
export async function lockOpen(uow: UnitOfWork, id: string): Promise<CooperationRow> {
  const c = await lockCooperation(uow, id);
  if (c.state === "ended") throw Conflict("cooperation-ended", `cooperation ${id} has ended`);
  return c;
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
    async (uow) => {
      // Lock order everywhere: resource rows, then the cooperation row, then
      // grants (as delegation and resource deletion do), so no deadlock cycle.
      const owner = await repo.lockResourceOwner(uow.tx, resource.type, resource.id);
      const c = await lockOpen(uow, id);
      if (!owner) throw NotFound("resource-not-found", `no ${resource.type} ${resource.id}`);
      if (owner !== c.ownerOrganizationId) {
        if (await repo.receivesResource(uow.tx, c.ownerOrganizationId, resource.type, resource.id)) {
          throw Forbidden(
            "resharing-forbidden",
            "a resource received through a cooperation cannot be shared on",
          );
        }
        throw Forbidden(
          "not-owner",
          `${resource.type} ${resource.id} is not owned by the owner organization`,
        );
      }
      const prev = await repo.shareLevel(uow.tx, id, resource.type, resource.id);
      if (prev === level) return;
      await repo.upsertShare(uow.tx, { cooperationId: id, resource, level });
      const tuple = (l: JobLevel) =>
        shareTuples({ cooperationId: id, resourceType: resource.type, resourceId: resource.id, level: l });
      // A changed level is delete + write of the share tuple; delegations keep
      // their delegated level and the model caps them live (R-C9).
      uow.tuples(prev ? tuple(prev) : [], tuple(level));
      uow.audit({
        action: prev ? "cooperation.share.changed" : "cooperation.share.added",
        target: { type: "cooperation", id },
        organizationIds: cooperationOrgIds(c),
        before: prev ? { resource, level: prev } : null,
        after: { resource, level },
      });
    },
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
  await runChange(deps, ctx, async (uow) => {
    await repo.lockResourceOwner(uow.tx, resource.type, resource.id);
    const c = await lockOpen(uow, id);
    if (!(await removeShareRow(uow, c, resource))) {
      throw NotFound("share-not-found", `cooperation ${id} does not share ${resource.type} ${resource.id}`);
    }
    await pruneUncoveredDelegations(uow, c);
  });
}
