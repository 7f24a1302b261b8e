import type { Config } from "../../config.js";
import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import type { Deps } from "../../kernel/deps.js";
import { emitEvent } from "./events.js";
import { auditInvitation } from "./lifecycle.js";
import { findById, lockPendingOfCooperation, transition } from "./repo.js";

/**
 * A pending cooperation ended by an admin takes its pending invitation with it:
 * the invitation is revoked (with its event and audit record) in the same unit
 * of work, so its token answers 410 `invitation-revoked` instead of failing at
 * acceptance. An invitation already past its expiry stays expired.
 */
export const revokeOnPendingEnded =
  (deps: Pick<Deps, "config" | "now">) => (uow: UnitOfWork, cooperationId: string) =>
    revokeInvitationsOfCooperation(uow, deps.config, cooperationId, deps.now());

export async function revokeInvitationsOfCooperation(
  uow: UnitOfWork,
  config: Config,
  cooperationId: string,
  now: Date,
): Promise<number> {
  let revoked = 0;
  for (const id of await lockPendingOfCooperation(uow.tx, cooperationId)) {
    const inv = await findById(uow.tx, id);
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
