import {
  type CooperationRow,
  cooperationOrgIds,
  lockCooperation,
  removeAllDelegations,
} from "../../domain/cooperations.js";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { Conflict, InvalidInput } from "../../domain/errors.js";
import { cooperationTuples, shareTuples } from "../../domain/tuples.js";
import { runChangeAndRead } from "../../domain/unit-of-work.js";
import { revokeInvitationsOfCooperation } from "../invitations/cooperation-link.js";
import * as repo from "./repo.js";
import { authorize, load, lockOpen, readState } from "./service.js";

/**
 * Lifecycle verbs (R-C5, R-C6, R-C10). Sharing is switched on and off by the
 * cooperation's `partner` tuple alone (cooperationTuples): pause and end drop
 * it, resume writes it back, and expiry is its `not_expired` condition, which
 * the engine evaluates against the current time of each check. So pausing
 * keeps shares and delegations for resumption, and expiry needs no job.
 */

const TRANSITIONS = {
  pause: { from: ["active"], to: "paused", sides: ["owner"] },
  resume: { from: ["paused"], to: "active", sides: ["owner"] },
  end: { from: ["pending", "active", "paused"], to: "ended", sides: ["owner", "partner"] },
} as const;

/**
 * R-C5: pause (active → paused), resume (paused → active), end (→ ended).
 * Pause and resume touch only the partner tuple, so shares and delegations
 * come back exactly as they were (R-C10); end deletes them all.
 */
export async function transition(deps: Deps, ctx: ActorContext, id: string, verb: keyof typeof TRANSITIONS) {
  const t = TRANSITIONS[verb];
  await authorize(deps, ctx, id, [...t.sides]);
  return runChangeAndRead(
    deps,
    ctx,
    async (uow) => {
      // Ending deletes shares and delegations: lock their resources first (the
      // order delegation and resource deletion use) to avoid a deadlock cycle.
      if (verb === "end") await repo.lockResourcesOf(uow.tx, id);
      const before = await lockCooperation(uow, id);
      // An expired cooperation is not active for pausing: extend or end it.
      const guard = verb === "pause" ? deps.now() : undefined;
      if (!(await repo.transition(uow.tx, id, [...t.from], t.to, guard))) {
        throw Conflict(
          "invalid-state-transition",
          `cannot ${verb} a cooperation that is ${readState(before, deps.now())}`,
          { state: readState(before, deps.now()) },
        );
      }
      const after: CooperationRow = { ...before, state: t.to };
      let removed: unknown;
      if (verb === "end" && before.state === "pending") {
        await revokeInvitationsOfCooperation(uow, deps.config, id, deps.now());
      }
      if (verb === "end") {
        const shares = await repo.deleteAllShares(uow.tx, id);
        for (const s of shares) {
          uow.tuples(
            shareTuples({
              cooperationId: id,
              resourceType: s.resource.type,
              resourceId: s.resource.id,
              level: s.level,
            }),
            [],
          );
        }
        const delegations = await removeAllDelegations(uow, before);
        removed = { shares: shares.map(({ resource, level }) => ({ resource, level })), delegations };
      }
      uow.tuples(cooperationTuples(before), cooperationTuples(after));
      uow.audit({
        action: `cooperation.${t.to === "active" ? "resumed" : t.to}`,
        target: { type: "cooperation", id },
        organizationIds: cooperationOrgIds(before),
        before: { state: before.state },
        after: { state: t.to, ...(removed ? { removed } : {}) },
      });
    },
    (d) => load(d, id),
  );
}

/** R-C5: set, extend or clear the expiry; the partner tuple's condition follows. */
export async function setExpiry(deps: Deps, ctx: ActorContext, id: string, expiresAt: Date | null) {
  if (expiresAt && expiresAt.getTime() <= deps.now().getTime()) {
    throw InvalidInput("expiry-in-past", "expiresAt must be in the future", [
      { path: "expiresAt", message: "must be in the future" },
    ]);
  }
  await authorize(deps, ctx, id, ["owner"]);
  return runChangeAndRead(
    deps,
    ctx,
    async (uow) => {
      const before = await lockOpen(uow, id);
      if (!(await repo.setExpiry(uow.tx, id, expiresAt))) {
        throw Conflict("cooperation-ended", `cooperation ${id} has ended`);
      }
      const after: CooperationRow = { ...before, expiresAt };
      uow.tuples(cooperationTuples(before), cooperationTuples(after));
      uow.audit({
        action: "cooperation.expiry.set",
        target: { type: "cooperation", id },
        organizationIds: cooperationOrgIds(before),
        before: { expiresAt: before.expiresAt },
        after: { expiresAt },
      });
    },
    (d) => load(d, id),
  );
}
