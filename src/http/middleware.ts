import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "pino";
import type { AppEnv } from "./context.js";
import { problemResponse } from "./errors.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo a caller's X-Request-ID (when sane) or make one; one child logger per request. */
export function requestContext(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header("x-request-id");
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("log", log.child({ requestId }));
    c.header("X-Request-ID", requestId);
    const started = performance.now();
    let failed = false;
    try {
      await next();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      // One wide line per request. Never headers or bodies: they hold keys and tokens.
      const status = failed ? 500 : c.res.status;
      c.get("log")[status >= 500 ? "warn" : "info"](
        {
          method: c.req.method,
          route: routePath(c),
          status,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          actor: c.get("actor")?.id,
          apiKey: c.get("apiKeyName"),
        },
        "request",
      );
    }
  };
}

/**
 * JSON bodies: a request that carries a body must be application/json (415),
 * parse (400 malformed-json) and be an object (400 body-not-object). Bodyless
 * POSTs (e.g. /pause) pass. Size is capped earlier by the body limit.
 */
export function jsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if ((method !== "POST" && method !== "PUT" && method !== "PATCH") || c.req.raw.body === null)
      return next();
    const text = await c.req.text();
    if (text.length === 0) return next();
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json" && !type.endsWith("+json")) {
      return problemResponse(c, 415, "unsupported-media-type", "request bodies must be application/json");
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return problemResponse(c, 400, "malformed-json", "the request body is not valid JSON");
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return problemResponse(c, 400, "body-not-object", "the request body must be a JSON object");
    }
    return next();
  };
}
