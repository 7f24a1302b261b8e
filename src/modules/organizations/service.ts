import { requirePermission } from "../../engine/authorize.js";
import { engineObject } from "../../engine/ids.js";
import { runChange } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { isCursorId, type KeysetList, keysetPage } from "../../kernel/paging.js";
import * as repo from "./repo.js";

const MEMBERS: KeysetList<{ userId: string }> = {
  kind: "members",
  parts: [isCursorId],
  keyOf: (r) => [r.userId],
};

/**
 * Organization reads and settings. Decision (documented in API notes): an
 * unknown organization is 404 `organization-not-found`; an existing one the
 * actor may not see or act on is 403. Organization ids are random
 * server-generated ids, so 404 vs 403 reveals nothing guessable.
 */

export const orgObject = (id: string) => engineObject("organization", id);

export function requireOrganization(deps: Deps, orgId: string): Promise<repo.OrganizationRow> {
  return repo.loadOrganization(deps.sql, orgId);
}

export function organizationView(o: repo.OrganizationRow) {
  return { id: o.id, name: o.name, createdAt: o.createdAt.toISOString() };
}

export function memberView(m: repo.MemberRow) {
  return { userId: m.userId, email: m.email, role: m.role, joinedAt: m.joinedAt.toISOString() };
}

/** GET /v1/me */
export async function getMe(deps: Deps, ctx: ActorContext) {
  const me = await repo.findMe(deps.sql, ctx.actorId);
  return me ?? { user: { id: ctx.actorId, email: ctx.actorEmail }, organization: null, role: null };
}

/** GET /v1/organizations/{orgId} (members: can_view). */
export async function getOrganization(deps: Deps, ctx: ActorContext, orgId: string) {
  const org = await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_view", orgObject(orgId));
  return organizationView(org);
}

/** PATCH /v1/organizations/{orgId} {name} (can_manage_settings). Only the name: no tuples change. */
export async function renameOrganization(deps: Deps, ctx: ActorContext, orgId: string, name: string) {
  await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_manage_settings", orgObject(orgId));
  return runChange(deps, ctx, async (uow) => {
    const org = await repo.loadOrganization(uow.tx, orgId, true);
    if (org.name !== name) {
      await repo.renameOrganization(uow.tx, orgId, name);
      uow.audit({
        action: "organization.renamed",
        target: { type: "organization", id: orgId },
        organizationIds: [orgId],
        before: { name: org.name },
        after: { name },
      });
    }
    return organizationView({ ...org, name });
  });
}

/** GET /v1/organizations/{orgId}/members (can_view), ordered by user id. */
export async function listMembers(
  deps: Deps,
  ctx: ActorContext,
  orgId: string,
  page: { limit: number; cursor?: string },
) {
  await requireOrganization(deps, orgId);
  await requirePermission(deps, ctx.actorId, "can_view", orgObject(orgId));
  const { rows, nextCursor } = await keysetPage(MEMBERS, page, (n, key) =>
    repo.listMembers(deps.sql, orgId, n, key?.[0] ?? null),
  );
  return { items: rows.map(memberView), nextCursor };
}
