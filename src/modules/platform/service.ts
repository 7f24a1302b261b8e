import { requirePermission } from "../../domain/authorize.js";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { Conflict, NotFound } from "../../domain/errors.js";
import { PLATFORM_OBJECT, staffTuples } from "../../domain/tuples.js";
import { runChange, type UnitOfWork } from "../../domain/unit-of-work.js";
import { ensureUser } from "../../domain/users.js";
import type { StaffRole } from "../../engine/permissions.js";

/** BOOTSTRAP_SYSADMINS exist from the first start (idempotent on every start). */
export async function bootstrapSysadmins(deps: Deps, userIds: string[]): Promise<void> {
  for (const userId of userIds) {
    await runChange(deps, { actorId: "system", actorEmail: null, requestId: "bootstrap" }, async (uow) => {
      await ensureUser(uow.tx, userId, null);
      const [prev] = await uow.tx`select role from platform_staff where user_id = ${userId} for update`;
      if (prev?.role === "sysadmin") return;
      await uow.tx`insert into platform_staff (user_id, role) values (${userId}, 'sysadmin')
        on conflict (user_id) do update set role = 'sysadmin'`;
      uow.tuples(
        prev ? staffTuples({ userId, role: prev.role }) : [],
        staffTuples({ userId, role: "sysadmin" }),
      );
      uow.audit({
        action: "platform.staff.set",
        target: { type: "user", id: userId },
        organizationIds: [],
        before: prev ? { role: prev.role } : null,
        after: { role: "sysadmin" },
      });
    });
  }
}

/**
 * Staff changes are rare: one transaction-scoped advisory lock serializes
 * them (taken before any row lock, so no deadlock between two changes).
 */
async function lockStaff(uow: UnitOfWork): Promise<void> {
  await uow.tx`select pg_advisory_xact_lock(hashtext('platform_staff'))`;
}

/**
 * Decision: the platform always keeps one sysadmin (the analogue of R-O6), or
 * nobody could manage staff through the API any more. Counted under lockStaff,
 * so two sysadmins removing each other cannot both win.
 */
async function keepOneSysadmin(uow: UnitOfWork): Promise<void> {
  const [{ n }] =
    (await uow.tx`select count(*)::int as n from platform_staff where role = 'sysadmin'`) as unknown as [
      { n: number },
    ];
  if (n <= 1) {
    throw Conflict("last-sysadmin", "the platform must keep at least one sysadmin");
  }
}

/** PUT /v1/platform/staff/{userId}: set a staff role (holders of can_administer). */
export async function setStaffRole(
  deps: Deps,
  ctx: ActorContext,
  userId: string,
  role: StaffRole,
): Promise<{ userId: string; role: StaffRole }> {
  return runChange(deps, ctx, async (uow) => {
    await lockStaff(uow);
    // Checked under the lock: a sysadmin removed a moment ago no longer acts.
    await requirePermission(deps, ctx.actorId, "can_administer", PLATFORM_OBJECT);
    await ensureUser(uow.tx, userId, null);
    const [prev] = await uow.tx`select role from platform_staff where user_id = ${userId} for update`;
    if (prev?.role === role) return { userId, role };
    if (prev?.role === "sysadmin") await keepOneSysadmin(uow);
    await uow.tx`insert into platform_staff (user_id, role) values (${userId}, ${role})
      on conflict (user_id) do update set role = excluded.role`;
    uow.tuples(prev ? staffTuples({ userId, role: prev.role }) : [], staffTuples({ userId, role }));
    uow.audit({
      action: "platform.staff.set",
      target: { type: "user", id: userId },
      organizationIds: [],
      before: prev ? { role: prev.role } : null,
      after: { role },
    });
    return { userId, role };
  });
}

/** DELETE /v1/platform/staff/{userId}: remove a staff member (404 when not staff). */
export async function removeStaff(deps: Deps, ctx: ActorContext, userId: string): Promise<void> {
  await runChange(deps, ctx, async (uow) => {
    await lockStaff(uow);
    await requirePermission(deps, ctx.actorId, "can_administer", PLATFORM_OBJECT);
    const [prev] = await uow.tx`select role from platform_staff where user_id = ${userId} for update`;
    if (!prev) throw NotFound("staff-not-found", `${userId} is not platform staff`);
    if (prev.role === "sysadmin") await keepOneSysadmin(uow);
    await uow.tx`delete from platform_staff where user_id = ${userId}`;
    uow.tuples(staffTuples({ userId, role: prev.role }), []);
    uow.audit({
      action: "platform.staff.removed",
      target: { type: "user", id: userId },
      organizationIds: [],
      before: { role: prev.role },
      after: null,
    });
  });
}
