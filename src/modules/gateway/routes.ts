import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the gateway module (not implemented yet). */
export function gatewayRoutes(_deps: Deps) {
  return createRouter();
}
