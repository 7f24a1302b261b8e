import { can, requirePermission } from "../../engine/authorize.js";
import { Engine } from "../../engine/client.js";
import { decider } from "../../engine/decision-cache.js";
import { engineObject, engineUser } from "../../engine/ids.js";
import { JOB_LEVELS, type JobLevel, levelMeet, type ResourceType } from "../../engine/permissions.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Forbidden, NotFound } from "../../kernel/errors.js";
import { type CursorPart, decodeCursor, encodeCursor, isCursorId } from "../../kernel/paging.js";
import { impliedLevels } from "../../kernel/tuples.js";
import { orgObject, requireOrganization } from "../organizations/index.js";
import { effectiveLevel } from "../resources/index.js";
import { heldLevels, levelPaths, maximalOf, type Reason } from "./reasons.js";
import * as repo from "./repo.js";
import { reportInconsistency } from "./service.js";

/**
 * Access review: who holds what on a park or portfolio and why
 * (GET /v1/{parks|portfolios}/{id}/access), and what other organizations
 * share with us (GET /v1/organizations/{orgId}/shared-with-us). Levels and
 * reasons come from one database snapshot; the access list's levels are
 * checked against the engine, whose answer stands on a disagreement.
 */

export interface AccessItem {
  userId: string;
  organizationId: string;
  cooperationId: string | null;
  levels: JobLevel[];
  reasons: Reason[];
  consistent: boolean;
}

/** Sort key: the owner organization first, then each partner organization, then users. */
type Key = [0 | 1, string, string];

/** The access list's cursor: the last item's key, each part checked. */
const ACCESS_CURSOR: CursorPart[] = [(v) => v === "0" || v === "1", isCursorId, isCursorId];

const cmp = (a: Key, b: Key) =>
  a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);

export async function listAccess(
  deps: Deps,
  ctx: ActorContext,
  q: { type: ResourceType; id: string; limit: number; cursor?: string },
): Promise<{ items: AccessItem[]; nextCursor: string | null }> {
  const raw = decodeCursor("access", q.cursor, ACCESS_CURSOR);
  const after: Key | null = raw === null ? null : [raw[0] === "1" ? 1 : 0, raw[1]!, raw[2]!];
  const found = await repo.inSnapshot(deps.sql, (tx) => repo.findResource(tx, q.type, q.id));
  if (!found) throw NotFound(`${q.type}-not-found`, `no ${q.type} ${q.id}`);
  const object = engineObject(q.type, q.id);
  // A partner admin sees only their own organization's people (as with grants, R-C11).
  let onlyOrg: string | null = null;
  if (!(await can(deps, ctx.actorId, "manage_own_access", object))) {
    if (!(await can(deps, ctx.actorId, "manage_delegations", object)))
      throw Forbidden("forbidden", `the actor may not manage access to ${q.type} ${q.id}`);
    const [m] = await repo.inSnapshot(deps.sql, (tx) => repo.membershipsOf(tx, [ctx.actorId]));
    if (!m) throw Forbidden("forbidden", "the actor belongs to no organization");
    onlyOrg = m.organizationId;
  }
  const now = deps.now();
  const snap = await repo.inSnapshot(deps.sql, async (tx) => {
    const r = await repo.findResource(tx, q.type, q.id);
    if (!r) throw NotFound(`${q.type}-not-found`, `no ${q.type} ${q.id}`);
    return repo.resourceSnapshot(tx, r);
  });
  const all: (AccessItem & { key: Key })[] = [];
  for (const m of snap.memberships.values()) {
    if (onlyOrg && m.organizationId !== onlyOrg) continue;
    const paths = levelPaths(snap, m.userId, now);
    if (paths.length === 0) continue;
    const reasons = paths.map((p) => p.reason);
    const coop = reasons.find((r) => r.kind === "share" || r.kind === "delegation");
    const own = m.organizationId === snap.resource.organizationId;
    all.push({
      key: [own ? 0 : 1, m.organizationId, m.userId],
      userId: m.userId,
      organizationId: m.organizationId,
      cooperationId: coop && "cooperationId" in coop ? coop.cooperationId : null,
      levels: maximalOf(heldLevels(paths)),
      reasons,
      consistent: true,
    });
  }
  all.sort((a, b) => cmp(a.key, b.key));
  const rest = after ? all.filter((i) => cmp(i.key, after) > 0) : all;
  const page = rest.slice(0, q.limit);
  await checkWithEngine(deps, ctx, object, page);
  const last = page.at(-1);
  return {
    items: page.map(({ key: _, ...item }) => item),
    nextCursor:
      rest.length > q.limit && last
        ? encodeCursor("access", [String(last.key[0]), last.key[1], last.key[2]])
        : null,
  };
}

/** Ask the engine the lvl_* relations of every listed user; where it disagrees, its levels stand. */
async function checkWithEngine(deps: Deps, ctx: ActorContext, object: string, page: AccessItem[]) {
  const asks = page.flatMap((item) => JOB_LEVELS.map((level) => ({ item, level })));
  const checks = asks.map(({ item, level }) => ({
    user: engineUser(item.userId),
    relation: `lvl_${level}`,
    object,
  }));
  // Straight to the engine (no cache: this is the check of the database's
  // reasons); every item answered or a 503, never a guess.
  const allowed = await decider({ engine: deps.engine }).batchCheckAll(checks, Engine.now());
  for (const item of page) {
    const engine = new Set(asks.filter((a, i) => a.item === item && allowed[i]).map((a) => a.level));
    const db = new Set(item.levels.flatMap(impliedLevels));
    if (engine.size === db.size && [...db].every((l) => engine.has(l))) continue;
    item.consistent = false;
    reportInconsistency(deps, ctx, "access", {
      object,
      user: item.userId,
      engine: [...engine],
      database: item.levels,
    });
    item.levels = maximalOf(engine);
  }
}

export async function sharedWithUs(
  deps: Deps,
  ctx: ActorContext,
  orgId: string,
  q: { limit: number; cursor?: string },
) {
  const after = decodeCursor("shared", q.cursor, [isCursorId])?.[0] ?? null;
  await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_manage_cooperations", orgObject(orgId));
  const now = deps.now();
  const { coops, shares, delegations } = await repo.inSnapshot(deps.sql, async (tx) => {
    const coops = await repo.incomingCooperations(tx, { orgId, now, after, limit: q.limit + 1 });
    const ids = coops.slice(0, q.limit).map((c) => c.id);
    return {
      coops,
      shares: await repo.sharesOfCooperations(tx, ids),
      delegations: await repo.delegationsOfCooperations(tx, ids),
    };
  });
  const page = coops.slice(0, q.limit);
  const items = page.map((c) => {
    const own = shares.filter((s) => s.cooperation_id === c.id);
    const out = own.map((s) => ({
      resource: { type: s.resource_type, id: s.resource_id },
      level: s.level,
      delegations: [] as {
        userId: string;
        resource: { type: ResourceType; id: string };
        level: JobLevel;
        effectiveLevel: JobLevel | null;
      }[],
    }));
    const find = (type: ResourceType, id: string | null) =>
      out.find((s) => s.resource.type === type && s.resource.id === id);
    for (const d of delegations.filter((d) => d.cooperation_id === c.id)) {
      // R-C9: capped by the share on the resource or, for a park, on its portfolio.
      const covering = [
        find(d.resource_type, d.resource_id),
        d.portfolio_id ? find("portfolio", d.portfolio_id) : undefined,
      ].filter((s) => s !== undefined);
      const held = new Set(covering.flatMap((s) => impliedLevels(levelMeet(d.level, s.level))));
      if (d.role === "external") for (const l of [...held]) if (l !== "viewer") held.delete(l);
      const under = covering[0];
      if (!under) continue;
      under.delegations.push({
        userId: d.user_id,
        resource: { type: d.resource_type, id: d.resource_id },
        level: d.level,
        effectiveLevel: d.role === null ? null : effectiveLevel(d.level, held),
      });
    }
    return {
      cooperationId: c.id,
      ownerOrganizationId: c.ownerOrganizationId,
      expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
      shares: out,
    };
  });
  const last = page.at(-1);
  return { items, nextCursor: coops.length > q.limit && last ? encodeCursor("shared", [last.id]) : null };
}
