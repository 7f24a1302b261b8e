import { runChangeAndRead } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { InvalidInput } from "../../kernel/errors.js";
import { setCooperationExpiry } from "./aggregate.js";
import { type Move, moveCooperation, type OnPendingEnded } from "./moves.js";
import { authorize, load } from "./service.js";

/** Lifecycle verbs (R-C5, R-C6, R-C10): authority, then the aggregate's move in one unit of work. */

/** Who may make each move: the owner's admins pause and resume; either side ends. */
const SIDES = { pause: ["owner"], resume: ["owner"], end: ["owner", "partner"] } as const;

/**
 * R-C5: pause (active → paused), resume (paused → active), end (→ ended).
 * A pending cooperation that ends takes its pending invitation with it
 * (`onPendingEnded`, wired in by the app: the invitations module revokes it).
 */
export async function transition(
  deps: Deps,
  ctx: ActorContext,
  id: string,
  move: Move,
  onPendingEnded?: OnPendingEnded,
) {
  await authorize(deps, ctx, id, [...SIDES[move]]);
  return runChangeAndRead(
    deps,
    ctx,
    (uow) => moveCooperation(uow, id, move, { now: deps.now(), strict: true, onPendingEnded }),
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
    (uow) => setCooperationExpiry(uow, id, expiresAt),
    (d) => load(d, id),
  );
}
