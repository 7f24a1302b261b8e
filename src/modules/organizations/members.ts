import { can, requirePermission } from "../../engine/authorize.js";
import type { OrgRole } from "../../engine/permissions.js";
import { runChange, type UnitOfWork } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Conflict, Forbidden } from "../../kernel/errors.js";
import { grantTuples, membershipTuples } from "../../kernel/tuples.js";
import * as repo from "./repo.js";
import { memberView, orgObject, requireOrganization } from "./service.js";

/**
 * Member verbs. Each runs in one unit of work that first locks the
 * organization row: membership changes of one organization are serialized,
 * so the admin count (R-O6) and the actor's own authority are read after
 * any concurrent change has committed (its tuples are written before its
 * commit, so the engine already reflects it).
 */

/** R-O5: moderators (who lack can_assign_admin/moderator) cannot change or remove admins and moderators. */
async function requireCeiling(deps: Deps, actorId: string, orgId: string, current: OrgRole): Promise<void> {
  if (current !== "admin" && current !== "moderator") return;
  if (!(await can(deps, actorId, `can_assign_${current}`, orgObject(orgId)))) {
    throw Forbidden(
      "role-ceiling",
      `only holders of can_assign_${current} may change or remove a ${current}`,
    );
  }
}

/** R-O6: the last admin cannot leave, be removed or be demoted. Call with the organization row locked. */
async function keepOneAdmin(uow: UnitOfWork, orgId: string): Promise<void> {
  if ((await repo.countAdmins(uow.tx, orgId)) <= 1) {
    throw Conflict("last-admin", "the organization must keep at least one admin");
  }
}

/**
 * The membership and, at once, every grant and delegation of the user with
 * their tuples (R-O8): no access survives the membership.
 */
async function dropMembership(uow: UnitOfWork, orgId: string, m: repo.MemberRow, action: string) {
  const grants = await repo.deleteGrantsOf(uow.tx, m.userId);
  for (const g of grants) uow.tuples(grantTuples(g), []);
  await repo.deleteMembership(uow.tx, orgId, m.userId);
  uow.tuples(membershipTuples({ userId: m.userId, organizationId: orgId, role: m.role }), []);
  const coopIds = [...new Set(grants.flatMap((g) => (g.cooperationId ? [g.cooperationId] : [])))];
  const orgs = new Set([orgId, ...grants.map((g) => g.organizationId)]);
  for (const o of await repo.cooperationSides(uow.tx, coopIds)) orgs.add(o);
  uow.audit({
    action,
    target: { type: "user", id: m.userId },
    organizationIds: [...orgs],
    before: {
      organizationId: orgId,
      role: m.role,
      grants: grants.map((g) => ({
        resource: { type: g.resourceType, id: g.resourceId },
        level: g.level,
        cooperationId: g.cooperationId,
      })),
    },
    after: null,
  });
}

/** PUT /v1/organizations/{orgId}/members/{userId}/role (R-O5, R-O6). */
export async function changeMemberRole(
  deps: Deps,
  ctx: ActorContext,
  orgId: string,
  userId: string,
  role: OrgRole,
) {
  await requireOrganization(deps, orgId);
  return runChange(deps, ctx, async (uow) => {
    await repo.loadOrganization(uow.tx, orgId, true);
    await requirePermission(deps, ctx.actorId, `can_assign_${role}`, orgObject(orgId));
    const target = await repo.loadMember(uow.tx, orgId, userId);
    if (target.role === role) return memberView(target);
    await requireCeiling(deps, ctx.actorId, orgId, target.role);
    if (target.role === "admin") await keepOneAdmin(uow, orgId);
    await repo.setRole(uow.tx, orgId, userId, role);
    uow.tuples(
      membershipTuples({ userId, organizationId: orgId, role: target.role }),
      membershipTuples({ userId, organizationId: orgId, role }),
    );
    uow.audit({
      action: "member.role_changed",
      target: { type: "user", id: userId },
      organizationIds: [orgId],
      before: { role: target.role },
      after: { role },
    });
    return memberView({ ...target, role });
  });
}

/** DELETE /v1/organizations/{orgId}/members/{userId} (can_manage_members, R-O5, R-O6, R-O8). */
export async function removeMember(deps: Deps, ctx: ActorContext, orgId: string, userId: string) {
  await requireOrganization(deps, orgId);
  await runChange(deps, ctx, async (uow) => {
    await repo.loadOrganization(uow.tx, orgId, true);
    await requirePermission(deps, ctx.actorId, "can_manage_members", orgObject(orgId));
    const target = await repo.loadMember(uow.tx, orgId, userId);
    await requireCeiling(deps, ctx.actorId, orgId, target.role);
    if (target.role === "admin") await keepOneAdmin(uow, orgId);
    await dropMembership(uow, orgId, target, "member.removed");
  });
}

/** POST /v1/organizations/{orgId}/leave: the actor leaves (R-O6, R-O8). Non-members get 403. */
export async function leaveOrganization(deps: Deps, ctx: ActorContext, orgId: string) {
  await requireOrganization(deps, orgId);
  await runChange(deps, ctx, async (uow) => {
    await repo.loadOrganization(uow.tx, orgId, true);
    const me = await repo.lockMember(uow.tx, orgId, ctx.actorId);
    if (!me) throw Forbidden("not-a-member", `${ctx.actorId} is not a member of ${orgId}`);
    if (me.role === "admin") await keepOneAdmin(uow, orgId);
    await dropMembership(uow, orgId, me, "member.left");
  });
}
