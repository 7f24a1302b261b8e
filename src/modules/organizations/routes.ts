import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the organizations module (not implemented yet). */
export function organizationsRoutes(_deps: Deps) {
  return createRouter();
}
