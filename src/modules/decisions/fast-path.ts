import type { IncomingMessage } from "node:http";
import { keyMatcher } from "../../http/auth.js";
import { errorProblem, problemParts } from "../../http/errors.js";
import type { FastPath } from "../../http/listener.js";
import { isJsonType, lazyChild, requestIdOf, writeRequestLine } from "../../http/middleware.js";
import type { Deps } from "../../kernel/deps.js";
import { accessLogger } from "../../logger.js";
import { endServerSpan, noteError, startServerSpan } from "../../telemetry.js";
import { answerEvaluation } from "./answer.js";
import { parseEvaluation } from "./schemas.js";

const PATH = "/access/v1/evaluation";
const ANSWER = { true: '{"decision":true}', false: '{"decision":false}' };

/**
 * POST /access/v1/evaluation on the Node server's request event, without
 * the Hono app: the call every service makes on every request it serves,
 * where the app's per-request machinery (a WHATWG Request and Response, the
 * router, the middleware chain, the validator hook) cost as much CPU as a
 * cached decision itself (bench/README.md, run 6).
 *
 * It takes a request whole only when the headers already say the app would
 * answer it with a decision: the exact path, a Content-Length within
 * BODY_LIMIT_BYTES, a JSON content type, a valid key with the `decide`
 * scope. Anything else goes to the app untouched; a body that is not valid
 * JSON or does not match the request schema is replayed through the app
 * (`replay`), so every refusal is the app's own answer. What it answers is
 * what the route answers: the same validation (EvaluationRequest, through parseEvaluation), the same
 * decision (answerEvaluation: metrics and debug line included), the same
 * request line, server span, X-Request-ID and problem+json errors
 * (test/integration/fast-path.test.ts compares the two).
 */
export function evaluationFastPath(deps: Deps): FastPath {
  const match = keyMatcher(deps.config.API_KEYS);
  const access = accessLogger(deps.log);
  const max = deps.config.BODY_LIMIT_BYTES;
  return (req, res, replay) => {
    if (req.method !== "POST" || req.url !== PATH) return false;
    const h = req.headers;
    const length = Number(h["content-length"]);
    if (!(length > 0 && length <= max) || h["transfer-encoding"] !== undefined) return false;
    if (!isJsonType(h["content-type"])) return false;
    const key = match(h.authorization);
    if (!key.ok || !key.scopes.includes("decide")) return false;
    const startedMs = performance.now();
    readBody(req, (text) => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return replay(req, res, text);
      }
      const q = parseEvaluation(body);
      if (!q.success) return replay(req, res, text);
      const server = startServerSpan("POST", PATH, h);
      const requestId = requestIdOf(h["x-request-id"] as string | undefined);
      const bindings = server.traceId ? { requestId, traceId: server.traceId } : { requestId };
      const log = lazyChild(deps.log, bindings);
      server.span.setAttribute("authz.request_id", requestId);
      const done = (status: number, headers: Record<string, string>, out: string, code?: string) => {
        headers["x-request-id"] = requestId;
        headers["content-length"] = String(Buffer.byteLength(out));
        res.writeHead(status, headers);
        res.end(out);
        endServerSpan(server.span, { method: "POST", route: PATH, status });
        writeRequestLine(access, {
          bindings,
          method: "POST",
          route: PATH,
          status,
          code,
          startedMs,
          apiKey: key.name,
        });
      };
      server.run(() =>
        answerEvaluation(deps, q.data, log).then(
          (decision) => done(200, { "content-type": "application/json" }, ANSWER[`${decision}`]),
          (err: unknown) => {
            noteError(server.span, err);
            const p = errorProblem(err, log);
            const parts = problemParts(p.status, p.code, p.detail, p.extra, requestId);
            done(parts.status, parts.headers, parts.body, p.code);
          },
        ),
      );
    });
    return true;
  };
}

/** The whole body as UTF-8 (Node's parser stops at Content-Length); nothing on a request the client aborted. */
function readBody(req: IncomingMessage, then: (text: string) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () =>
    then(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")),
  );
  req.on("error", () => {});
}
