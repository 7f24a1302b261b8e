import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the resources module (not implemented yet). */
export function resourcesRoutes(_deps: Deps) {
  return createRouter();
}
