import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context.js";
import { commonErrors, createRouter, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { InvalidInput } from "../../kernel/errors.js";
import { ForwardAuthAllowed } from "./schemas.js";
import { forwardAuth } from "./service.js";
import { EMPTY_TABLE, loadRouteTable } from "./table.js";

export const FORWARD_AUTH_PATH = "/v1/forward-auth";

const OriginalHeaders = z.object({
  "x-original-method": z.string().optional().openapi({ description: "nginx: the original method" }),
  "x-original-uri": z.string().optional().openapi({ description: "nginx: the original URI ($request_uri)" }),
  "x-forwarded-method": z.string().optional(),
  "x-forwarded-uri": z.string().optional(),
});

const forwardAuthRoute = (method: "get" | "post") =>
  createRoute({
    method,
    path: FORWARD_AUTH_PATH,
    tags: ["Gateway"],
    summary: "Gateway decision (nginx auth_request, Envoy ext_authz HTTP)",
    description:
      "Maps the original method and URI through the route table (ROUTES_FILE) to an action and a " +
      "resource, and checks them for the user named by the FORWARD_AUTH_SUBJECT_HEADER header. " +
      "Envoy may also call `/v1/forward-auth/<original path>` (path_prefix) with the original method.",
    request: { headers: OriginalHeaders },
    responses: {
      200: { description: "allowed", content: { "application/json": { schema: ForwardAuthAllowed } } },
      ...commonErrors,
      401: problem("subject-required / subject-invalid, or a missing or wrong API key"),
      403: problem("forbidden (denied), no-route, unsafe-path, or a key without the decide scope"),
      503: problem("the engine did not answer: fail closed"),
    },
  });

/**
 * The original request: X-Original-* (nginx), else X-Forwarded-* (Traefik,
 * Envoy with headers_to_add), else the request itself when Envoy calls with
 * path_prefix. The gateway must set these headers itself, never pass a
 * client's.
 */
function original(c: Context<AppEnv>): { method: string; uri: string } {
  const method = c.req.header("x-original-method") ?? c.req.header("x-forwarded-method") ?? c.req.method;
  let uri = c.req.header("x-original-uri") ?? c.req.header("x-forwarded-uri");
  if (uri === undefined && c.req.path.startsWith(`${FORWARD_AUTH_PATH}/`)) {
    const url = new URL(c.req.url);
    uri = url.pathname.slice(FORWARD_AUTH_PATH.length) + url.search;
  }
  if (uri === undefined)
    throw InvalidInput("original-uri-required", "X-Original-URI or X-Forwarded-Uri is required");
  return { method, uri };
}

/** Forward-auth for gateways; the route table is read and validated once, when the app is built. */
export function gatewayRoutes(deps: Deps) {
  const app = createRouter();
  const table = deps.config.ROUTES_FILE ? loadRouteTable(deps.config.ROUTES_FILE) : EMPTY_TABLE;
  const handle = async (c: Context<AppEnv>) => {
    const subject = c.req.header(deps.config.FORWARD_AUTH_SUBJECT_HEADER);
    return c.json(await forwardAuth(deps, table, { subject, ...original(c) }), 200);
  };
  app.openapi(forwardAuthRoute("get"), handle);
  app.openapi(forwardAuthRoute("post"), handle);
  app.all(`${FORWARD_AUTH_PATH}/*`, handle);
  return app;
}
