import pino from "pino";
import { describe, expect, it } from "vitest";
import { type RequestLine, requestLine, writeRequestLine } from "../../src/http/middleware.js";
import { accessLogger, createLogger } from "../../src/logger.js";

/** What pino itself writes for the request line's fields (the way the line was written before). */
function viaPino(level: "info" | "error", r: Omit<RequestLine, "startedMs">, durationMs: number) {
  const out: string[] = [];
  const log = pino(
    { level: "info", base: { service: "authz-sidecar" }, timestamp: () => `,"time":1234` },
    { write: (s: string) => void out.push(s) },
  );
  const outcome = r.status < 400 ? "ok" : r.status < 500 ? "refused" : "failed";
  log[level](
    {
      ...r.bindings,
      method: r.method,
      route: r.route,
      status: r.status,
      outcome,
      code: r.code,
      durationMs,
      actor: r.actor,
      apiKey: r.apiKey,
    },
    "request",
  );
  return out.join("");
}

const chindings = ',"service":"authz-sidecar"';

describe("the request line, serialized directly, is pino's line byte for byte", () => {
  const cases: [Omit<RequestLine, "startedMs">, number][] = [
    [{ bindings: { requestId: "r-1" }, method: "POST", route: "/access/v1/evaluation", status: 200 }, 1.25],
    [
      {
        bindings: {
          requestId: "6f1c2a8e-0b7d-4e55-9a0e-3f1b2c4d5e6f",
          traceId: "0af7651916cd43dd8448eb211c80319c",
        },
        method: "POST",
        route: "/v1/organizations/:id/members",
        status: 403,
        code: "forbidden",
        actor: "u-1",
        apiKey: 'svc "billing"',
      },
      0,
    ],
    [
      {
        bindings: { requestId: "r:3" },
        method: "GET",
        route: "/healthz",
        status: 503,
        code: "engine-unavailable",
      },
      12,
    ],
    [{ bindings: { requestId: "r" }, method: "DELETE", route: "*", status: 404, actor: "ü\u2028" }, 1e-2],
  ];
  it.each(cases)("%j", (r, d) => {
    const level = r.status >= 500 ? "error" : "info";
    expect(requestLine(level, r, d, chindings, 1234)).toBe(viaPino(level, r, d));
  });

  it("writes through the access logger's destination at info, 5xx at error, nothing below its level", () => {
    const lines: string[] = [];
    const dest = { write: (s: string) => void lines.push(s) };
    const info = accessLogger(createLogger("info", dest));
    const r = { bindings: { requestId: "x" }, method: "POST", route: "/r", startedMs: performance.now() };
    writeRequestLine(info, { ...r, status: 200 });
    writeRequestLine(info, { ...r, status: 502 });
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: 30, service: "authz-sidecar", requestId: "x", status: 200, outcome: "ok", msg: "request" },
      { level: 50, status: 502, outcome: "failed" },
    ]);
    const error = accessLogger(createLogger("error", dest));
    writeRequestLine(error, { ...r, status: 200 });
    expect(lines).toHaveLength(2);
    writeRequestLine(error, { ...r, status: 500 });
    expect(lines).toHaveLength(3);
    writeRequestLine(accessLogger(createLogger("silent", dest)), { ...r, status: 500 });
    expect(lines).toHaveLength(3);
  });
});
