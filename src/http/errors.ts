import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "pino";
import { DomainError, type ErrorKind, type FieldError } from "../kernel/errors.js";
import { isRetryableConflict, pgCode } from "../kernel/pg-errors.js";

/** The only mapping from error kinds to HTTP statuses. */
const STATUS: Record<ErrorKind, number> = {
  "invalid-input": 400,
  unauthenticated: 401,
  forbidden: 403,
  "not-found": 404,
  conflict: 409,
  gone: 410,
  unavailable: 503,
};

const TITLE: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  410: "Gone",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  requestId?: string;
  [k: string]: unknown;
}

export function statusOf(kind: ErrorKind): number {
  return STATUS[kind];
}

/** A problem answer without a Hono context (status, headers, body): the one place its shape is made. */
export interface ProblemParts {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function problemParts(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
  requestId?: string,
): ProblemParts {
  const body: Problem = {
    type: `https://authz-sidecar.dev/problems/${code}`,
    title: TITLE[status] ?? "Error",
    status,
    detail,
    code,
    ...extra,
    requestId,
  };
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (requestId) headers["x-request-id"] = requestId;
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="authz-sidecar"';
  // Every 503 is transient (a dependency down, a conflict, overload): say when to retry.
  if (status === 503) headers["retry-after"] = "1";
  return { status, headers, body: JSON.stringify(body) };
}

export function problemResponse(
  c: Context,
  status: number,
  code: string,
  detail: string,
  extra = {},
): Response {
  c.set("problemCode", code);
  // A fresh Response does not carry headers set earlier with c.header(): problemParts echoes the request id.
  const p = problemParts(status, code, detail, extra, c.get("requestId") as string | undefined);
  return new Response(p.body, { status: p.status, headers: p.headers });
}

/** What an error thrown by a handler answers (status, code, detail, extra), logging what needs it. */
export interface ErrorProblem {
  status: number;
  code: string;
  detail: string;
  extra?: Record<string, unknown>;
}

export function errorProblem(err: unknown, log: Logger | undefined): ErrorProblem {
  const internal = { status: 500, code: "internal-error", detail: INTERNAL };
  if (err instanceof DomainError && err.code === "engine-validation") {
    // Every engine request a management verb makes is built by the service
    // (ids encoded, names from the model), so a refusal is our bug: the
    // change was not made, and the engine's message stays in the log.
    log?.error({ err }, "bug: the engine refused a request built by the service");
    return internal;
  }
  if (err instanceof DomainError) {
    const status = statusOf(err.kind);
    if (status >= 500) log?.warn({ err, code: err.code }, "unavailable");
    return { status, code: err.code, detail: err.message, extra: err.extra };
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const code = status === 413 ? "payload-too-large" : status === 404 ? "not-found" : "bad-request";
    return { status, code, detail: err.message || TITLE[status] || "error" };
  }
  const transient = databaseTrouble(err);
  if (transient) {
    log?.warn({ err }, transient);
    const detail =
      transient === "database-unavailable"
        ? "the database is unavailable; nothing was changed"
        : "the change collided with a concurrent one and was rolled back; retry";
    return { status: 503, code: transient, detail };
  }
  log?.error({ err }, "unhandled error");
  return internal;
}

const INTERNAL = "An unexpected error occurred; quote the request id.";

/** app.onError: typed errors become problems; anything else is a fixed 500 with the request id. */
export function renderError(err: Error, c: Context): Response {
  const p = errorProblem(err, c.get("log") as Logger | undefined);
  return problemResponse(c, p.status, p.code, p.detail, p.extra);
}

/**
 * Database failures that are not bugs: the database is unreachable, shutting
 * down, out of connections or not accepting work (R-G2: 503, the transaction
 * rolled back), or a deadlock/serialization failure aborted the transaction
 * (retryable). SQLSTATE classes 08 (connection), 53 (insufficient
 * resources), 55000 (object not in prerequisite state), 57P (operator
 * intervention: shutdown, terminated session, cannot connect now); the
 * driver's own connection codes; socket errors, also inside an AggregateError
 * (Node tries every address of a host) or as the cause of a wrapper.
 */
export function databaseTrouble(
  err: unknown,
  depth = 0,
): "database-unavailable" | "transaction-conflict" | undefined {
  if (!err || typeof err !== "object" || depth > 3) return undefined;
  const code = pgCode(err);
  if (isRetryableConflict(err)) return "transaction-conflict";
  if (/^(08|53|57P)/.test(code) || code === "55000") return "database-unavailable";
  if (CONNECTION_CODES.test(code)) return "database-unavailable";
  for (const inner of [
    ...((err as { errors?: unknown[] }).errors ?? []),
    (err as { cause?: unknown }).cause,
  ]) {
    const found = databaseTrouble(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

const CONNECTION_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|CONNECTION_|CONNECT_TIMEOUT)/;
