import type { Config } from "../../config.js";
import type { UnitOfWork } from "../../domain/unit-of-work.js";
import { emitEvent } from "./events.js";
import { auditInvitation } from "./lifecycle.js";
import { findById, transition } from "./repo.js";

/**
 * A pending cooperation ended by an admin takes its pending invitation with it:
 * the invitation is revoked (with its event and audit record) in the same unit
 * of work, so its token answers 410 `invitation-revoked` instead of failing at
 * acceptance. An invitation already past its expiry stays expired.
 */
export async function revokeInvitationsOfCooperation(
  uow: UnitOfWork,
  config: Config,
  cooperationId: string,
  now: Date,
): Promise<number> {
  const rows = await uow.tx`select id from invitations
    where cooperation_id = ${cooperationId} and status = 'pending' order by id for update`;
  let revoked = 0;
  for (const r of rows) {
    const inv = await findById(uow.tx, r.id as string);
    if (!inv || !(await transition(uow.tx, inv.id, "revoked", now))) continue;
    await emitEvent(uow, config, inv, "revoked", now, { reason: "cooperation-ended" });
    auditInvitation(
      uow,
      inv,
      "invitation.revoked",
      { status: "pending" },
      { status: "revoked", reason: "cooperation-ended" },
    );
    revoked++;
  }
  return revoked;
}
