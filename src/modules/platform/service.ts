import type { Deps } from "../../domain/deps.js";
import { staffTuples } from "../../domain/tuples.js";
import { runChange } from "../../domain/unit-of-work.js";
import { ensureUser } from "../../domain/users.js";

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
