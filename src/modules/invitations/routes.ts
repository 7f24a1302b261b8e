import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the invitations module (not implemented yet). */
export function invitationsRoutes(_deps: Deps) {
  return createRouter();
}
