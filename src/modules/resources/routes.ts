import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, jsonBody, jsonResponse, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { deleteGrant, listGrants, putGrant } from "./grants.js";
import type { ResourceType } from "./schemas.js";
import {
  GrantBody,
  GrantListSchema,
  GrantParams,
  GrantSchema,
  GrantsQuery,
  ParkBody,
  ParkParams,
  ParkSchema,
  PortfolioBody,
  PortfolioParams,
  PortfolioSchema,
  ResourceParams,
} from "./schemas.js";
import { deleteResource, putPark, putPortfolio } from "./service.js";

const TAG = ["Resources and grants"];

const dates = <T extends { createdAt: Date; updatedAt: Date }>(r: T) => ({
  ...r,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

const putPortfolioRoute = createRoute({
  method: "put",
  path: "/v1/portfolios/{portfolioId}",
  tags: TAG,
  summary: "Create or update a portfolio (can_create_portfolio on the organization)",
  request: { params: PortfolioParams, ...jsonBody(PortfolioBody) },
  responses: {
    200: jsonResponse(PortfolioSchema, "updated (or unchanged)"),
    201: jsonResponse(PortfolioSchema, "created"),
    ...commonErrors,
    409: problem("portfolio-owned-elsewhere"),
  },
});

const putParkRoute = createRoute({
  method: "put",
  path: "/v1/parks/{parkId}",
  tags: TAG,
  summary: "Create, update or move a park (can_create_park on the owner organization)",
  request: { params: ParkParams, ...jsonBody(ParkBody) },
  responses: {
    200: jsonResponse(ParkSchema, "updated, moved (or unchanged)"),
    201: jsonResponse(ParkSchema, "created"),
    ...commonErrors,
    404: problem("portfolio-not-found"),
    409: problem("park-in-other-organization"),
  },
});

function deleteRoute(type: ResourceType) {
  return createRoute({
    method: "delete",
    path: `/v1/${type}s/{id}`,
    tags: TAG,
    summary: `Remove a ${type} and all access to it (admins and moderators of the owner)`,
    request: { params: ResourceParams },
    responses: {
      204: { description: "removed" },
      ...commonErrors,
      404: problem(`${type}-not-found`),
      ...(type === "portfolio" ? { 409: problem("portfolio-not-empty") } : {}),
    },
  });
}

function grantRoutes(type: ResourceType) {
  const base = `/v1/${type}s/{id}/grants`;
  const put = createRoute({
    method: "put",
    path: `${base}/{userId}`,
    tags: TAG,
    summary: `Grant (owner) or delegate (partner admin) a level on a ${type}`,
    request: { params: GrantParams, ...jsonBody(GrantBody) },
    responses: {
      200: jsonResponse(GrantSchema, "changed (or unchanged)"),
      201: jsonResponse(GrantSchema, "created"),
      ...commonErrors,
      403: problem("forbidden, level-above-cap, level-above-external-cap"),
      404: problem(`${type}-not-found`),
      409: problem("not-a-member"),
    },
  });
  const del = createRoute({
    method: "delete",
    path: `${base}/{userId}`,
    tags: TAG,
    summary: `Remove a grant or a delegation on a ${type}`,
    request: { params: GrantParams },
    responses: { 204: { description: "removed" }, ...commonErrors, 404: problem("grant-not-found") },
  });
  const list = createRoute({
    method: "get",
    path: base,
    tags: TAG,
    summary: `Grants and delegations on a ${type}, with the level the engine grants now`,
    request: { params: ResourceParams, query: GrantsQuery },
    responses: {
      200: jsonResponse(GrantListSchema, "a page"),
      ...commonErrors,
      404: problem(`${type}-not-found`),
    },
  });
  return { put, del, list };
}

/** API.md "Resources and grants". */
export function resourcesRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(putPortfolioRoute, async (c) => {
    const ctx = actorContext(c);
    const { portfolioId } = c.req.valid("param");
    const r = await putPortfolio(deps, ctx, { id: portfolioId, ...c.req.valid("json") });
    return c.json(dates(r.resource), r.created ? 201 : 200);
  });
  app.openapi(putParkRoute, async (c) => {
    const ctx = actorContext(c);
    const { parkId } = c.req.valid("param");
    const r = await putPark(deps, ctx, { id: parkId, ...c.req.valid("json") });
    return c.json(dates(r.resource), r.created ? 201 : 200);
  });
  for (const type of ["park", "portfolio"] as const) {
    app.openapi(deleteRoute(type), async (c) => {
      const ctx = actorContext(c);
      await deleteResource(deps, ctx, type, c.req.valid("param").id);
      return c.body(null, 204);
    });
    const routes = grantRoutes(type);
    app.openapi(routes.put, async (c) => {
      const ctx = actorContext(c);
      const { id, userId } = c.req.valid("param");
      const r = await putGrant(deps, ctx, { type, id, userId, level: c.req.valid("json").level });
      return c.json(r.grant, r.created ? 201 : 200);
    });
    app.openapi(routes.del, async (c) => {
      const ctx = actorContext(c);
      const { id, userId } = c.req.valid("param");
      await deleteGrant(deps, ctx, { type, id, userId });
      return c.body(null, 204);
    });
    app.openapi(routes.list, async (c) => {
      const ctx = actorContext(c);
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listGrants(deps, ctx, { type, id: c.req.valid("param").id, limit, cursor }), 200);
    });
  }
  return app;
}
