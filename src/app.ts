import { swaggerUI } from "@hono/swagger-ui";
import { requireActor } from "./http/actor.js";
import { apiKeyAuth } from "./http/auth.js";
import { problemResponse, renderError } from "./http/errors.js";
import { jsonBody, requestContext } from "./http/middleware.js";
import { createRouter } from "./http/openapi.js";
import type { Deps } from "./kernel/deps.js";
import { auditRoutes } from "./modules/audit/routes.js";
import { cooperationsRoutes } from "./modules/cooperations/routes.js";
import { decisionsRoutes } from "./modules/decisions/routes.js";
import { explainRoutes } from "./modules/explain/routes.js";
import { gatewayRoutes } from "./modules/gateway/routes.js";
import { revokeOnPendingEnded } from "./modules/invitations/cooperation-link.js";
import { invitationsRoutes } from "./modules/invitations/routes.js";
import { organizationsRoutes } from "./modules/organizations/routes.js";
import { platformRoutes } from "./modules/platform/routes.js";
import { resourcesRoutes } from "./modules/resources/routes.js";
import { ensureUser } from "./modules/users/index.js";
import type { Readiness } from "./readiness.js";

export interface AppDeps extends Deps {
  readiness: Readiness;
}

/**
 * Build the HTTP app from its dependencies. Never reads the environment, so
 * tests build as many apps as they like with their own config.
 */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  const { config } = deps;

  app.use("*", requestContext(deps.log));
  app.use("*", jsonBody(config.BODY_LIMIT_BYTES));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) =>
    c.json(
      { status: deps.readiness.ready ? "ready" : "not-ready", checks: deps.readiness.report() },
      deps.readiness.ready ? 200 : 503,
    ),
  );
  // /metrics is served on its own listener (src/metrics-server.ts), not here.

  // Decision endpoints need the `decide` scope; management endpoints `manage` and an actor.
  // Each middleware is built once (its key digests with it), not per request.
  const decide = apiKeyAuth(config.API_KEYS, "decide");
  const manage = apiKeyAuth(config.API_KEYS, "manage");
  const withActor = requireActor();
  app.use("/access/v1/*", decide);
  // Forward-auth: `/v1/forward-auth`, and `/v1/forward-auth/<path>` for Envoy's path_prefix.
  const forwardAuth = (path: string) => path === "/v1/forward-auth" || path.startsWith("/v1/forward-auth/");
  app.use("/v1/forward-auth", decide);
  app.use("/v1/forward-auth/*", decide);
  app.use("/v1/*", async (c, next) => {
    if (forwardAuth(c.req.path)) return next();
    return manage(c, next);
  });
  app.use("/v1/*", async (c, next) => {
    if (forwardAuth(c.req.path)) return next();
    if (!deps.managementEnabled) {
      return problemResponse(
        c,
        404,
        "management-disabled",
        "the management API is off when a custom MODEL_FILE is used",
      );
    }
    return withActor(c, async () => {
      const actor = c.get("actor")!;
      // Every management request records its actor (and a newly verified email)
      // first, in one statement of its own: being seen is not a domain change, so
      // it is kept even when the verb is then refused, and it writes no audit
      // record (API.md "Authentication").
      await ensureUser(deps.sql, actor.id, actor.email);
      await next();
    });
  });

  app.route("/", decisionsRoutes(deps));
  app.route("/", gatewayRoutes(deps));
  app.route("/", platformRoutes(deps));
  app.route("/", organizationsRoutes(deps));
  app.route("/", resourcesRoutes(deps));
  app.route("/", cooperationsRoutes(deps, { onPendingEnded: revokeOnPendingEnded(deps) }));
  app.route("/", invitationsRoutes(deps));
  app.route("/", auditRoutes(deps));
  app.route("/", explainRoutes(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  registerOperationsPaths(app);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Authorization sidecar",
      version: "1.0.0",
      description:
        "AuthZEN 1.0 decisions and a workflow API for organizations, invitations and cooperations.",
    },
    security: [{ bearer: [] }],
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json" }));

  app.notFound((c) => problemResponse(c, 404, "not-found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof createApp>;

/** The operations endpoints (plain handlers above) in the OpenAPI document too (API.md "Operations"). */
function registerOperationsPaths(app: ReturnType<typeof createRouter>): void {
  const ops: [string, string, string, string][] = [
    ["/healthz", "process alive", "application/json", "{status: ok}"],
    [
      "/readyz",
      "database and engine reachable, model loaded (503 otherwise, naming what is down)",
      "application/json",
      "{status, checks}",
    ],
    [
      "/metrics",
      "Prometheus metrics (authz_*): served on the metrics listener (METRICS_PORT, default 9464), without a key, not on this port",
      "text/plain",
      "Prometheus text format",
    ],
    ["/openapi.json", "this document", "application/json", "OpenAPI 3.1"],
    ["/docs", "this document rendered", "text/html", "HTML page"],
  ];
  for (const [path, summary, type, description] of ops) {
    app.openAPIRegistry.registerPath({
      method: "get",
      path,
      summary,
      tags: ["operations"],
      security: [],
      responses: {
        200: {
          description,
          content: { [type]: { schema: { type: type === "application/json" ? "object" : "string" } } },
        },
        ...(path === "/readyz"
          ? {
              503: {
                description: "not ready",
                content: { "application/json": { schema: { type: "object" } } },
              },
            }
          : {}),
      },
    });
  }
}
