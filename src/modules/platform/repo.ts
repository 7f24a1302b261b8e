import type { Tx } from "../../db/pool.js";
import type { StaffRole } from "../../engine/permissions.js";

/** SQL of the platform module (platform_staff). */

/**
 * Staff changes are rare: one transaction-scoped advisory lock serializes
 * them (taken before any row lock, so no deadlock between two changes).
 */
export async function lockStaffTable(tx: Tx): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('platform_staff'))`;
}

export async function lockStaffRole(tx: Tx, userId: string): Promise<StaffRole | null> {
  const [r] = await tx`select role from platform_staff where user_id = ${userId} for update`;
  return (r?.role as StaffRole | undefined) ?? null;
}

export async function putStaffRole(tx: Tx, userId: string, role: StaffRole): Promise<void> {
  await tx`insert into platform_staff (user_id, role) values (${userId}, ${role})
    on conflict (user_id) do update set role = excluded.role`;
}

export async function deleteStaff(tx: Tx, userId: string): Promise<void> {
  await tx`delete from platform_staff where user_id = ${userId}`;
}

export async function countSysadmins(tx: Tx): Promise<number> {
  const [r] = await tx`select count(*)::int as n from platform_staff where role = 'sysadmin'`;
  return r!.n as number;
}
