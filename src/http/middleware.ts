import type { Context, MiddlewareHandler, Next } from "hono";
import { routePath } from "hono/route";
import pino, { type Logger } from "pino";
import { accessLogger } from "../logger.js";
import { endServerSpan, noteError, type ServerSpan, startServerSpan } from "../telemetry.js";
import type { AppEnv } from "./context.js";
import { problemResponse } from "./errors.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Echo a caller's X-Request-ID (when sane) or make one; one child logger per
 * request carrying the request id and the trace id; one HTTP server span per
 * request, continuing a caller's W3C `traceparent`.
 */
export function requestContext(log: Logger): MiddlewareHandler<AppEnv> {
  const access = accessLogger(log);
  return async (c, next) => {
    const server = startServerSpan(c.req.method, c.req.path, c.req.raw.headers);
    return server.run(() => handle(c, next, log, access, server));
  };
}

/** A caller's X-Request-ID when sane, else a new one. */
export function requestIdOf(given: string | undefined): string {
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/** What the request line says of one answered request. */
export interface RequestLine {
  bindings: pino.Bindings;
  method: string;
  route: string;
  status: number;
  code?: string;
  startedMs: number;
  actor?: string;
  apiKey?: string;
}

/**
 * One wide line per request, at error for 5xx. Never headers or bodies: they
 * hold keys and tokens. The line is the one `access.info(fields, "request")`
 * would write (level, time, the logger's bindings, the fields without the
 * undefined ones, msg), serialized here directly: a generic pino call was a
 * visible share of a decision's CPU (test/unit/request-line.test.ts holds the
 * two to the same bytes).
 */
export function writeRequestLine(access: Logger, r: RequestLine): void {
  const level = r.status >= 500 ? "error" : "info";
  if (!access.isLevelEnabled(level)) return;
  const raw = access as unknown as Record<symbol, unknown>;
  const stream = raw[pino.symbols.streamSym] as pino.DestinationStream;
  const durationMs = Math.round((performance.now() - r.startedMs) * 100) / 100;
  stream.write(requestLine(level, r, durationMs, raw[pino.symbols.chindingsSym] as string, Date.now()));
}

const q = JSON.stringify;

/** The JSON line of writeRequestLine; `chindings` is pino's serialized bindings (`,"service":…`). */
export function requestLine(
  level: "info" | "error",
  r: Omit<RequestLine, "startedMs">,
  durationMs: number,
  chindings: string,
  time: number,
): string {
  let s = `{"level":${level === "error" ? 50 : 30},"time":${time}${chindings}`;
  for (const k in r.bindings) {
    const v = r.bindings[k];
    if (v !== undefined) s += `,${q(k)}:${q(v)}`;
  }
  s += `,"method":${q(r.method)},"route":${q(r.route)},"status":${r.status},"outcome":"${outcomeOf(r.status)}"`;
  if (r.code !== undefined) s += `,"code":${q(r.code)}`;
  s += `,"durationMs":${durationMs}`;
  if (r.actor !== undefined) s += `,"actor":${q(r.actor)}`;
  if (r.apiKey !== undefined) s += `,"apiKey":${q(r.apiKey)}`;
  return `${s},"msg":"request"}\n`;
}

async function handle(c: Context<AppEnv>, next: Next, log: Logger, access: Logger, server: ServerSpan) {
  const { span, traceId } = server;
  const requestId = requestIdOf(c.req.header("x-request-id"));
  const bindings = traceId ? { requestId, traceId } : { requestId };
  c.set("requestId", requestId);
  c.set("log", lazyChild(log, bindings));
  c.header("X-Request-ID", requestId);
  span.setAttribute("authz.request_id", requestId);
  const startedMs = performance.now();
  let failed = false;
  try {
    await next();
    // Hono turns handler errors into responses (app.onError) before we get here.
    if (c.error) noteError(span, c.error);
  } catch (err) {
    failed = true;
    noteError(span, err);
    throw err;
  } finally {
    const status = failed ? 500 : c.res.status;
    const route = routePath(c);
    const actor = c.get("actor")?.id;
    endServerSpan(span, { method: c.req.method, route, status, actor });
    writeRequestLine(access, {
      bindings,
      method: c.req.method,
      route,
      status,
      code: c.get("problemCode"),
      startedMs,
      actor,
      apiKey: c.get("apiKeyName"),
    });
  }
}

/** The request's outcome for the log: answered, refused (the caller's error) or failed (ours or a dependency's). */
function outcomeOf(status: number): "ok" | "refused" | "failed" {
  return status < 400 ? "ok" : status < 500 ? "refused" : "failed";
}

/**
 * The request's logger, made on first use: building a pino child serializes
 * (and redacts) its bindings, a visible cost on a cached decision whose
 * handlers never log. Behaves as `log.child(bindings)` in every other way.
 */
export function lazyChild(log: Logger, bindings: pino.Bindings): Logger {
  let child: Logger | undefined;
  const real = () => {
    child ??= log.child(bindings);
    return child;
  };
  return new Proxy({} as Logger, {
    get(_, prop) {
      // A level that is off logs nothing: answer its no-op without making the child.
      if (!child && typeof prop === "string" && prop in LEVELS && !log.isLevelEnabled(prop)) return noop;
      const target = real();
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
    set(_, prop, value) {
      return Reflect.set(real(), prop, value);
    },
    has(_, prop) {
      return Reflect.has(real(), prop);
    },
  });
}

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const noop = () => {};

/**
 * Request bodies, in one pass: at most `maxBytes` (413), and a request that
 * carries a body must be application/json (415), parse (400 malformed-json)
 * and be an object (400 body-not-object). Bodyless POSTs (e.g. /pause) pass.
 * It decides from the headers whether there is a body and reads it on the
 * server's fast path: touching `c.req.raw.body` would build a WHATWG Request
 * with a stream and an AbortSignal for every call (a large share of a cached
 * decision's CPU). Only chunked bodies (no Content-Length) take the stream.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (c: Context<AppEnv>) =>
    problemResponse(c, 413, "payload-too-large", `bodies are limited to ${maxBytes} bytes`);
  return async (c, next) => {
    const method = c.req.method;
    if (method !== "POST" && method !== "PUT" && method !== "PATCH") return next();
    const length = c.req.header("content-length");
    // On the Node server (c.env.incoming) the headers tell whether a body
    // follows; a Request built in-process (tests, app.request) may have a body
    // without Content-Length, so ask it.
    const fromNode = (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
    const streamed = fromNode
      ? /chunked/i.test(c.req.header("transfer-encoding") ?? "")
      : c.req.raw.body !== null;
    if (length === undefined && !streamed) return next();
    if (length !== undefined && !(Number(length) <= maxBytes)) return tooLarge(c);
    let text: string;
    if (length === undefined) {
      const read = await readCapped(c.req.raw.body, maxBytes);
      if (read === null) return tooLarge(c);
      text = read;
      // Later readers (the validators) get the text we read.
      c.req.bodyCache.text = Promise.resolve(text) as never;
    } else {
      text = await c.req.text();
    }
    if (text.length === 0) return next();
    if (!isJsonType(c.req.header("content-type"))) {
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
    // The validators parse from this cache instead of parsing the text again.
    c.req.bodyCache.json = Promise.resolve(body) as never;
    return next();
  };
}

/** A JSON media type: application/json or any `+json` type, parameters ignored. */
export function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

/** Read a stream as UTF-8 up to `max` bytes; null when it is longer (the rest is cancelled). */
async function readCapped(stream: ReadableStream<Uint8Array> | null, max: number): Promise<string | null> {
  if (!stream) return "";
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
