import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, jsonResponse, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { AuditPage, AuditQuery, OrgParams } from "./schemas.js";
import { auditEvents } from "./service.js";

const list = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/audit-events",
  tags: ["Audit"],
  summary: "Audit events of an organization, newest first (can_view_audit_log)",
  request: { params: OrgParams, query: AuditQuery },
  responses: {
    200: jsonResponse(AuditPage, "a page of events"),
    ...commonErrors,
    404: problem("organization-not-found"),
  },
});

/** API.md "Audit". */
export function auditRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid("param");
    return c.json(await auditEvents(deps, actorContext(c), orgId, c.req.valid("query")), 200);
  });
  return app;
}
