import { requirePermission } from "../../engine/authorize.js";
import type { StaffRole } from "../../engine/permissions.js";
import { runChange, type UnitOfWork } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Conflict, NotFound } from "../../kernel/errors.js";
import { PLATFORM_OBJECT, staffTuples } from "../../kernel/tuples.js";
import { ensureUser } from "../users/index.js";
import * as repo from "./repo.js";

/**
 * Decision: the platform always keeps one sysadmin (the analogue of R-O6), or
 * nobody could manage staff through the API any more. Counted under the staff
 * lock, so two sysadmins removing each other cannot both win.
 */
async function keepOneSysadmin(uow: UnitOfWork): Promise<void> {
  if ((await repo.countSysadmins(uow.tx)) <= 1) {
    throw Conflict("last-sysadmin", "the platform must keep at least one sysadmin");
  }
}

/** Set a staff role in a unit of work: row, tuples and audit (nothing when it is already the role). */
async function putRole(uow: UnitOfWork, userId: string, role: StaffRole): Promise<void> {
  await ensureUser(uow.tx, userId, null);
  const prev = await repo.lockStaffRole(uow.tx, userId);
  if (prev === role) return;
  if (prev === "sysadmin") await keepOneSysadmin(uow);
  await repo.putStaffRole(uow.tx, userId, role);
  uow.tuples(prev ? staffTuples({ userId, role: prev }) : [], staffTuples({ userId, role }));
  uow.audit({
    action: "platform.staff.set",
    target: { type: "user", id: userId },
    organizationIds: [],
    before: prev ? { role: prev } : null,
    after: { role },
  });
}

/** BOOTSTRAP_SYSADMINS exist from the first start (idempotent on every start). */
export async function bootstrapSysadmins(deps: Deps, userIds: string[]): Promise<void> {
  for (const userId of userIds) {
    await runChange(deps, { actorId: "system", actorEmail: null, requestId: "bootstrap" }, (uow) =>
      putRole(uow, userId, "sysadmin"),
    );
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
    await repo.lockStaffTable(uow.tx);
    // Checked under the lock: a sysadmin removed a moment ago no longer acts.
    await requirePermission(deps, ctx.actorId, "can_administer", PLATFORM_OBJECT);
    await putRole(uow, userId, role);
    return { userId, role };
  });
}

/** DELETE /v1/platform/staff/{userId}: remove a staff member (404 when not staff). */
export async function removeStaff(deps: Deps, ctx: ActorContext, userId: string): Promise<void> {
  await runChange(deps, ctx, async (uow) => {
    await repo.lockStaffTable(uow.tx);
    await requirePermission(deps, ctx.actorId, "can_administer", PLATFORM_OBJECT);
    const prev = await repo.lockStaffRole(uow.tx, userId);
    if (!prev) throw NotFound("staff-not-found", `${userId} is not platform staff`);
    if (prev === "sysadmin") await keepOneSysadmin(uow);
    await repo.deleteStaff(uow.tx, userId);
    uow.tuples(staffTuples({ userId, role: prev }), []);
    uow.audit({
      action: "platform.staff.removed",
      target: { type: "user", id: userId },
      organizationIds: [],
      before: { role: prev },
      after: null,
    });
  });
}
