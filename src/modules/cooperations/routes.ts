import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the cooperations module (not implemented yet). */
export function cooperationsRoutes(_deps: Deps) {
  return createRouter();
}
