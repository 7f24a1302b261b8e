import type { Context, MiddlewareHandler } from "hono";
import type { ActorContext } from "../kernel/deps.js";
import { isApiId } from "../kernel/ids.js";
import type { AppEnv } from "./context.js";
import { problemResponse } from "./errors.js";

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Management calls act for a user named by the calling service (X-Actor-Id, X-Actor-Email). */
export function requireActor(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = c.req.header("x-actor-id");
    if (!id) return problemResponse(c, 400, "actor-required", "the X-Actor-Id header is required");
    if (!isApiId(id)) return problemResponse(c, 400, "invalid-actor", "X-Actor-Id is not a valid user id");
    const rawEmail = c.req.header("x-actor-email");
    if (rawEmail !== undefined && (!EMAIL.test(rawEmail.trim()) || rawEmail.includes("\u0000"))) {
      return problemResponse(c, 400, "invalid-actor-email", "X-Actor-Email is not a valid email address");
    }
    c.set("actor", { id, email: rawEmail ? rawEmail.trim().toLowerCase() : null });
    await next();
  };
}

/** The acting user of a management request (set by requireActor), for domain verbs. */
export function actorContext(c: Context<AppEnv>): ActorContext {
  const actor = c.get("actor");
  if (!actor) throw new Error("management route without an actor");
  return { actorId: actor.id, actorEmail: actor.email, requestId: c.get("requestId") };
}
