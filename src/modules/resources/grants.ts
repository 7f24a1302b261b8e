import { engineObject, engineUser } from "../../engine/ids.js";
import { JOB_LEVELS, type JobLevel, type ResourceType } from "../../engine/permissions.js";
import { runChange, type UnitOfWork } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Conflict, Forbidden, NotFound } from "../../kernel/errors.js";
import { isCursorId, type KeysetList, keysetPage } from "../../kernel/paging.js";
import { grantTuples } from "../../kernel/tuples.js";
import { lockCooperation } from "../cooperations/index.js";
import { grantAudit, removeGrant } from "./access.js";
import { effectiveLevel, levelsAtOrBelow, retryOnDeadlock, withinCap } from "./levels.js";
import * as repo from "./repo.js";

const GRANTS: KeysetList<{ userId: string }> = {
  kind: "grants",
  parts: [isCursorId],
  keyOf: (r) => [r.userId],
};

/**
 * Grants (own organization, R-O3, R-O4) and delegations (partner admins,
 * R-C8, R-C9, R-C11). Which one a call makes is decided by the model: an
 * actor holding manage_own_access on the resource grants; else one holding
 * manage_delegations delegates; else 403.
 */

interface Resource {
  type: ResourceType;
  id: string;
  organizationId: string;
  portfolioId: string | null;
}

type Side = "owner" | "partner";

async function loadResource(
  db: repo.Db,
  type: ResourceType,
  id: string,
  lock: repo.Lock = false,
): Promise<Resource> {
  const row = await repo.loadResource(db, type, id, lock);
  const portfolioId = type === "park" ? (row as repo.ParkRow).portfolioId : null;
  return { type, id, organizationId: row.organizationId, portfolioId };
}

/** The actor's side on the resource, from the model (one batch check). */
async function sideOf(deps: Deps, actorId: string, r: Resource): Promise<Side | null> {
  const [own, deleg] = await deps.engine.batchCheck(
    ["manage_own_access", "manage_delegations"].map((relation) => ({
      user: engineUser(actorId),
      relation,
      object: engineObject(r.type, r.id),
    })),
  );
  if (own?.allowed) return "owner";
  if (deleg?.allowed) return "partner";
  return null;
}

export interface GrantView {
  userId: string;
  level: JobLevel;
  effectiveLevel: JobLevel | null;
  organizationId: string;
  cooperationId: string | null;
}

export async function putGrant(
  deps: Deps,
  ctx: ActorContext,
  input: { type: ResourceType; id: string; userId: string; level: JobLevel },
): Promise<{ grant: GrantView; created: boolean }> {
  const found = await loadResource(deps.sql, input.type, input.id);
  const side = await sideOf(deps, ctx.actorId, found);
  if (!side) throw Forbidden("forbidden", `the actor may not manage access to ${input.type} ${input.id}`);
  const result = await retryOnDeadlock(() =>
    runChange(deps, ctx, async (uow) => {
      let organizationId = found.organizationId;
      let cooperationId: string | null = null;
      let actorOrgId: string | null = null;
      // The lock order (src/engine-sync/lock-order.ts): memberships, the resource
      // (a shared row lock keeps it from being deleted or moved), then the cooperation.
      if (side === "partner")
        actorOrgId = (await repo.membershipOf(uow.tx, ctx.actorId, true))?.organizationId ?? null;
      const r = await loadResource(uow.tx, input.type, input.id, "share");
      if (side === "partner") {
        cooperationId = actorOrgId ? await lockActiveCooperation(uow, r.organizationId, actorOrgId) : null;
      }
      const grantee = await repo.membershipOf(uow.tx, input.userId, true);
      if (side === "owner") {
        if (grantee?.organizationId !== r.organizationId) {
          throw Conflict("not-a-member", `user ${input.userId} is not a member of the owner organization`);
        }
      } else {
        // R-C11: a partner admin only delegates to members of their own organization.
        if (!actorOrgId || grantee?.organizationId !== actorOrgId) {
          throw Conflict("not-a-member", `user ${input.userId} is not a member of the actor's organization`);
        }
        organizationId = actorOrgId;
        await requireWithinCap(uow, r, cooperationId, input.level);
      }
      // R-O4: externals hold at most viewer, whoever grants; refused, never lowered.
      if (grantee.role === "external" && input.level !== "viewer") {
        throw Forbidden("level-above-external-cap", "an external member may hold at most viewer");
      }
      let before = await repo.findGrant(uow.tx, r.type, r.id, input.userId, true);
      const after: repo.GrantRow = {
        resourceType: r.type,
        resourceId: r.id,
        userId: input.userId,
        level: input.level,
        organizationId,
        cooperationId,
      };
      // No row to lock yet: a concurrent first grant can win the insert. Then
      // its row (committed by now) is this change's `before`, so the tuple
      // delta replaces its tuples instead of leaving them behind.
      if (!before && !(await repo.insertGrant(uow.tx, { ...after, grantedBy: ctx.actorId })))
        before = await repo.findGrant(uow.tx, r.type, r.id, input.userId, true);
      if (before && before.level === after.level && before.cooperationId === after.cooperationId) {
        return { row: after, created: false };
      }
      if (before) await repo.upsertGrant(uow.tx, { ...after, grantedBy: ctx.actorId });
      uow.tuples(before ? grantTuples(before) : [], grantTuples(after));
      grantAudit(uow, r.organizationId, before, after);
      return { row: after, created: !before };
    }),
  );
  const [view] = await withEffectiveLevels(deps, [result.row]);
  return { grant: view!, created: result.created };
}

/** The active cooperation owner → partner, locked; 403 when there is none (paused, ended, pending). */
async function lockActiveCooperation(uow: UnitOfWork, ownerOrgId: string, partnerOrgId: string) {
  const coopId = await repo.activeCooperationId(uow.tx, ownerOrgId, partnerOrgId);
  const coop = coopId ? await lockCooperation(uow, coopId) : null;
  if (coop?.state !== "active") throw Forbidden("forbidden", "no active cooperation shares this resource");
  return coop.id;
}

/**
 * R-C8: one of the cooperation's shares covering the resource (the resource,
 * or a park's portfolio) must be >= the level in the lattice; never lowered.
 */
async function requireWithinCap(uow: UnitOfWork, r: Resource, coopId: string | null, level: JobLevel) {
  const shares = [
    ...(await repo.sharesOn(uow.tx, r.type, r.id)),
    ...(r.portfolioId ? await repo.sharesOn(uow.tx, "portfolio", r.portfolioId) : []),
  ].filter((s) => s.cooperationId === coopId);
  if (shares.length === 0) throw Forbidden("forbidden", "no share of the cooperation covers this resource");
  const levels = shares.map((s) => s.level);
  if (!withinCap(levels, level)) {
    throw Forbidden("level-above-cap", `${level} is above the shared level (${levels.join(", ")})`);
  }
}

export async function deleteGrant(
  deps: Deps,
  ctx: ActorContext,
  input: { type: ResourceType; id: string; userId: string },
): Promise<void> {
  const found = await loadResource(deps.sql, input.type, input.id);
  const side = await sideOf(deps, ctx.actorId, found);
  if (!side) throw Forbidden("forbidden", `the actor may not manage access to ${input.type} ${input.id}`);
  const actorOrg = side === "partner" ? await repo.membershipOf(deps.sql, ctx.actorId) : null;
  await retryOnDeadlock(() =>
    runChange(deps, ctx, async (uow) => {
      const r = await loadResource(uow.tx, input.type, input.id, "share");
      const g = await repo.findGrant(uow.tx, r.type, r.id, input.userId, true);
      // A partner admin sees and removes only their organization's delegations (R-C11).
      const visible =
        g && (side === "owner" || (g.cooperationId && g.organizationId === actorOrg?.organizationId));
      if (!g || !visible)
        throw NotFound("grant-not-found", `no grant for ${input.userId} on ${r.type} ${r.id}`);
      await removeGrant(uow, g, r.organizationId);
    }),
  );
}

export async function listGrants(
  deps: Deps,
  ctx: ActorContext,
  q: { type: ResourceType; id: string; limit: number; cursor?: string },
): Promise<{ items: GrantView[]; nextCursor: string | null }> {
  const r = await loadResource(deps.sql, q.type, q.id);
  const side = await sideOf(deps, ctx.actorId, r);
  if (!side) throw Forbidden("forbidden", `the actor may not manage access to ${q.type} ${q.id}`);
  const actorOrg = side === "partner" ? await repo.membershipOf(deps.sql, ctx.actorId) : null;
  if (side === "partner" && !actorOrg) throw Forbidden("forbidden", "the actor belongs to no organization");
  const organizationId = actorOrg?.organizationId;
  const { rows, nextCursor } = await keysetPage(GRANTS, q, (limit, key) =>
    repo.pageGrants(deps.sql, { type: q.type, id: q.id, organizationId, after: key?.[0], limit }),
  );
  return { items: await withEffectiveLevels(deps, rows), nextCursor };
}

/** effectiveLevel = the greatest level <= the granted one the engine grants now (one batch check, R-C9). */
async function withEffectiveLevels(deps: Deps, rows: repo.GrantRow[]): Promise<GrantView[]> {
  const asks = rows.flatMap((g) => levelsAtOrBelow(g.level).map((level) => ({ g, level })));
  const answers = await deps.engine.batchCheck(
    asks.map(({ g, level }) => ({
      user: engineUser(g.userId),
      relation: `lvl_${level}`,
      object: engineObject(g.resourceType, g.resourceId),
    })),
  );
  return rows.map((g) => {
    const held = new Set<JobLevel>(
      JOB_LEVELS.filter((level) =>
        asks.some((a, i) => a.g === g && a.level === level && answers[i]?.allowed),
      ),
    );
    return {
      userId: g.userId,
      level: g.level,
      effectiveLevel: effectiveLevel(g.level, held),
      organizationId: g.organizationId,
      cooperationId: g.cooperationId,
    };
  });
}
