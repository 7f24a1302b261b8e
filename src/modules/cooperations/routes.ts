import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, jsonBody, jsonResponse, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import * as lifecycle from "./lifecycle.js";
import type { OnPendingEnded } from "./moves.js";
import {
  CooperationPageSchema,
  CooperationSchema,
  CoopParams,
  ExpiryBody,
  ListQuery,
  OrgParams,
  ShareBody,
  ShareParams,
} from "./schemas.js";
import * as service from "./service.js";

const errors = { ...commonErrors, 404: problem("no such cooperation, share or resource") };
const changeErrors = { ...errors, 409: problem("ended, invalid state transition or conflict") };
const tags = ["cooperations"];

const list = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/cooperations",
  tags,
  summary: "List an organization's cooperations (admins)",
  request: { params: OrgParams, query: ListQuery },
  responses: { 200: jsonResponse(CooperationPageSchema, "a page of cooperations"), ...commonErrors },
});
const get = createRoute({
  method: "get",
  path: "/v1/cooperations/{coopId}",
  tags,
  summary: "Read a cooperation (admins of either side)",
  request: { params: CoopParams },
  responses: { 200: jsonResponse(CooperationSchema, "the cooperation"), ...errors },
});
const patch = createRoute({
  method: "patch",
  path: "/v1/cooperations/{coopId}",
  tags,
  summary: "Set, extend or clear the expiry (owner admins)",
  request: { params: CoopParams, ...jsonBody(ExpiryBody) },
  responses: { 200: jsonResponse(CooperationSchema, "the cooperation"), ...changeErrors },
});
const putShare = createRoute({
  method: "put",
  path: "/v1/cooperations/{coopId}/shares/{type}/{id}",
  tags,
  summary: "Add or change a share (owner admins; R-C3, R-C4)",
  request: { params: ShareParams, ...jsonBody(ShareBody) },
  responses: { 200: jsonResponse(CooperationSchema, "the cooperation with its shares"), ...changeErrors },
});
const deleteShare = createRoute({
  method: "delete",
  path: "/v1/cooperations/{coopId}/shares/{type}/{id}",
  tags,
  summary: "Remove a share and the delegations it alone covered (owner admins; R-C9)",
  request: { params: ShareParams },
  responses: { 204: { description: "removed" }, ...changeErrors },
});
const lifecycleRoute = (verb: "pause" | "resume" | "end", summary: string) =>
  createRoute({
    method: "post",
    path: `/v1/cooperations/{coopId}/${verb}`,
    tags,
    summary,
    request: { params: CoopParams },
    responses: { 200: jsonResponse(CooperationSchema, "the cooperation"), ...changeErrors },
  });

/**
 * Routes of the cooperations module (API.md "Cooperations"). `onPendingEnded`
 * comes from the app (the invitations module), so this module imports none.
 */
export function cooperationsRoutes(deps: Deps, links: { onPendingEnded?: OnPendingEnded } = {}) {
  const app = createRouter();

  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid("param");
    const q = c.req.valid("query");
    return c.json(
      await service.listCooperations(deps, actorContext(c), { organizationId: orgId, ...q }),
      200,
    );
  });
  app.openapi(get, async (c) =>
    c.json(await service.getCooperation(deps, actorContext(c), c.req.valid("param").coopId), 200),
  );
  app.openapi(patch, async (c) => {
    const { expiresAt } = c.req.valid("json");
    const at = expiresAt === null ? null : new Date(expiresAt);
    return c.json(await lifecycle.setExpiry(deps, actorContext(c), c.req.valid("param").coopId, at), 200);
  });
  app.openapi(putShare, async (c) => {
    const { coopId, type, id } = c.req.valid("param");
    const { level } = c.req.valid("json");
    return c.json(await service.putShare(deps, actorContext(c), coopId, { type, id }, level), 200);
  });
  app.openapi(deleteShare, async (c) => {
    const { coopId, type, id } = c.req.valid("param");
    await service.deleteShare(deps, actorContext(c), coopId, { type, id });
    return c.body(null, 204);
  });
  for (const [verb, summary] of [
    ["pause", "Pause an active cooperation (owner admins; R-C5)"],
    ["resume", "Resume a paused cooperation, restoring exactly what was shared (owner admins; R-C10)"],
    ["end", "End a cooperation, removing its shares and delegations (either side's admins; R-C10)"],
  ] as const) {
    app.openapi(lifecycleRoute(verb, summary), async (c) =>
      c.json(
        await lifecycle.transition(
          deps,
          actorContext(c),
          c.req.valid("param").coopId,
          verb,
          links.onPendingEnded,
        ),
        200,
      ),
    );
  }
  return app;
}
