import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { listAccess, sharedWithUs } from "./review.js";
import type { ResourceType } from "./schemas.js";
import {
  AccessPageSchema,
  AccessParams,
  AccessQuery,
  ExplainBody,
  ExplainSchema,
  OrgParams,
  SharedWithUsSchema,
} from "./schemas.js";
import { explain } from "./service.js";

const tags = ["Explanations and access review"];
const ok = <T>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

const explainRoute = createRoute({
  method: "post",
  path: "/v1/explain",
  tags,
  summary:
    "Explain a decision in domain terms (the subject itself, can_manage_access on the resource, " +
    "organization admins for organization permissions, sysadmins)",
  description:
    "`decision` is the engine's answer, as /access/v1/evaluation gives it at that moment; `reasons` (the paths " +
    "that allow) and `missing` (for a deny: what is closest) are computed from the database in one snapshot. " +
    "When they disagree, `consistent` is false and the engine's decision stands.",
  request: { body: { required: true, content: { "application/json": { schema: ExplainBody } } } },
  responses: {
    200: ok("the explanation", ExplainSchema),
    ...commonErrors,
    404: problem("park-not-found, portfolio-not-found, organization-not-found, platform-not-found"),
    415: problem("the body is not application/json"),
  },
});

const accessRoute = (type: ResourceType) =>
  createRoute({
    method: "get",
    path: `/v1/${type}s/{id}/access`,
    tags,
    summary: `Everyone with a level on a ${type}, with the levels and the reasons (can_manage_access)`,
    description:
      "Grouped by organization: the owner organization first, then each partner organization (with its " +
      "cooperation), users by id. A partner admin sees their own organization only. `consistent` is false " +
      "when the engine grants other levels than the database rows imply; `levels` are then the engine's.",
    request: { params: AccessParams, query: AccessQuery },
    responses: { 200: ok("a page", AccessPageSchema), ...commonErrors, 404: problem(`${type}-not-found`) },
  });

const sharedRoute = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/shared-with-us",
  tags,
  summary: "Incoming live cooperations, their shares and the delegations under each (admins)",
  request: { params: OrgParams, query: AccessQuery },
  responses: {
    200: ok("a page", SharedWithUsSchema),
    ...commonErrors,
    404: problem("organization-not-found"),
  },
});

/** API.md "Explanations and access review". */
export function explainRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(explainRoute, async (c) =>
    c.json(await explain(deps, actorContext(c), c.req.valid("json")), 200),
  );
  for (const type of ["park", "portfolio"] as const) {
    app.openapi(accessRoute(type), async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const page = await listAccess(deps, actorContext(c), {
        type,
        id: c.req.valid("param").id,
        limit,
        cursor,
      });
      return c.json(page, 200);
    });
  }
  app.openapi(sharedRoute, async (c) =>
    c.json(await sharedWithUs(deps, actorContext(c), c.req.valid("param").orgId, c.req.valid("query")), 200),
  );
  return app;
}
