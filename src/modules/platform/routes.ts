import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the platform module (not implemented yet). */
export function platformRoutes(_deps: Deps) {
  return createRouter();
}
