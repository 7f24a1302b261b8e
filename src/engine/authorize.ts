import type { Deps } from "../kernel/deps.js";
import { Forbidden } from "../kernel/errors.js";
import { engineUser } from "./ids.js";

/**
 * Whether the actor may act is decided by the same model other services ask
 * (SPEC §2), never by a parallel role table. Engine failures propagate as
 * Unavailable: a management call never proceeds on an unanswered check.
 */
/** `object` is in engine form (`engineObject(type, id)`, PLATFORM_OBJECT); null is no object: false. */
export async function can(
  deps: Deps,
  actorId: string,
  relation: string,
  object: string | null,
): Promise<boolean> {
  if (object === null) return false;
  return deps.engine.check({ user: engineUser(actorId), relation, object });
}

export async function requirePermission(
  deps: Deps,
  actorId: string,
  relation: string,
  object: string,
  code = "forbidden",
): Promise<void> {
  if (!(await can(deps, actorId, relation, object))) {
    throw Forbidden(code, `the actor lacks ${relation} on ${object}`);
  }
}
