import type { Deps } from "../../domain/deps.js";
import { createRouter } from "../../http/openapi.js";

/** Routes of the audit module (not implemented yet). */
export function auditRoutes(_deps: Deps) {
  return createRouter();
}
