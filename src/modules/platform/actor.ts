import type { Context } from "hono";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { ensureUser } from "../../domain/users.js";
import type { AppEnv } from "../../http/context.js";

/** The acting user of a management request (set by the X-Actor-Id middleware). */
export function actorContext(c: Context<AppEnv>): ActorContext {
  const actor = c.get("actor");
  if (!actor) throw new Error("management route without an actor");
  return { actorId: actor.id, actorEmail: actor.email, requestId: c.get("requestId") };
}

/**
 * Record the actor the first time it is seen (and a newly verified email).
 * Runs at the start of every management verb, in its own short transaction,
 * so the user exists even when the verb itself is refused: being seen is not
 * a state change of the domain and writes no audit record.
 */
export async function recordActor(deps: Deps, ctx: ActorContext): Promise<void> {
  await deps.sql.begin((tx) => ensureUser(tx, ctx.actorId, ctx.actorEmail));
}
