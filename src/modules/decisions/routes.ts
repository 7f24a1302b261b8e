import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the decisions module (not implemented yet). */
export function decisionsRoutes(_deps: Deps) {
  return createRouter();
}
