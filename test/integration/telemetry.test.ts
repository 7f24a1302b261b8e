import http from "node:http";
import { SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { Engine } from "../../src/engine/client.js";
import { freePort } from "../../src/local/ports.js";
import { createLogger } from "../../src/logger.js";
import { exportersFromEnv, flushTelemetry, startTelemetry, withSpan } from "../../src/telemetry.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg, userId } from "../support/factories.js";
import { acceptInvitation, inviteMember } from "../support/invitation-factories.js";
import { logLines } from "../support/log-lines.js";

const exporter = new InMemorySpanExporter();

const idOf = (s: ReadableSpan) => s.spanContext().spanId;
/** The names from a span up to its root, e.g. ["openfga.check", "POST /access/v1/evaluation"]. */
function ancestry(span: ReadableSpan, all: ReadableSpan[]): string[] {
  const out = [span.name];
  let parent = span.parentSpanContext?.spanId;
  while (parent) {
    const p = all.find((s) => idOf(s) === parent);
    if (!p) break;
    out.push(p.name);
    parent = p.parentSpanContext?.spanId;
  }
  return out;
}

describe("telemetry: spans and trace ids", () => {
  let t: TestContext;
  beforeAll(async () => {
    startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => exporter.reset());

  it("a decision: HTTP server span → engine check span, in one trace", async () => {
    const org = await createOrg(t);
    exporter.reset();
    const res = await t.json("POST", "/access/v1/evaluation", {
      key: "decide",
      body: {
        subject: { type: "user", id: org.admin },
        action: { name: "can_view" },
        resource: { type: "portfolio", id: org.portfolioId },
      },
    });
    expect(res.body).toEqual({ decision: true });
    const spans = exporter.getFinishedSpans();
    const http = spans.find((s) => s.name === "POST /access/v1/evaluation");
    expect(http).toBeDefined();
    expect(http!.attributes["http.response.status_code"]).toBe(200);
    const engine = spans.filter((s) => s.name.startsWith("openfga."));
    expect(engine.length).toBeGreaterThan(0);
    for (const e of engine) {
      expect(ancestry(e, spans).at(-1)).toBe("POST /access/v1/evaluation");
      expect(e.spanContext().traceId).toBe(http!.spanContext().traceId);
    }
  });

  it("an invitation acceptance: HTTP span → change span → db.transaction → engine write", async () => {
    const org = await createOrg(t);
    const inv = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    exporter.reset();
    await acceptInvitation(t, { token: inv.token, actor: inv.invitee });
    const spans = exporter.getFinishedSpans();
    const write = spans.find((s) => s.name === "openfga.write");
    expect(write, spans.map((s) => s.name).join(", ")).toBeDefined();
    const chain = ancestry(write!, spans);
    expect(chain[1]).toBe("db.transaction");
    expect(chain[2]).toMatch(/^change /);
    expect(chain.at(-1)).toBe("POST /v1/invitations/accept");
    const change = spans.find((s) => s.name === chain[2])!;
    expect(String(change.attributes["authz.audit.actions"])).toContain("invitation.accepted");
    expect(change.attributes["enduser.id"]).toBe(inv.invitee);
  });

  it("client errors are not recorded as exceptions; engine failures are", async () => {
    const res = await t.json("GET", "/v1/organizations/nope", { actor: userId("x") });
    expect([res.status, res.body.code]).toEqual([404, "organization-not-found"]);
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(0);
    for (const s of spans) {
      expect(s.events.filter((e) => e.name === "exception")).toEqual([]);
      expect(s.status.code).not.toBe(SpanStatusCode.ERROR);
    }
    exporter.reset();
    // An engine that does not answer (nothing listens on port 1).
    const down = new Engine({ apiUrl: "http://127.0.0.1:1", timeoutMs: 500, searchTimeoutMs: 500 });
    down.pin(t.engine.storeId!, t.engine.modelId!);
    const res503 = await createApp({ ...t.deps, engine: down }).request("/access/v1/evaluation", {
      method: "POST",
      headers: { authorization: `Bearer ${t.keys.decide}`, "content-type": "application/json" },
      body: JSON.stringify({
        subject: { type: "user", id: "a" },
        action: { name: "can_view" },
        resource: { type: "park", id: "p" },
      }),
    });
    expect(res503.status).toBe(503);
    const failed = exporter.getFinishedSpans().filter((s) => s.name.startsWith("openfga."));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
    expect(failed[0]!.events.some((e) => e.name === "exception")).toBe(true);
  });

  it("puts the trace id in the request log line and continues a caller's traceparent", async () => {
    const { lines, stream } = logLines();
    const app = createApp({ ...t.deps, log: pino({ level: "info" }, stream) });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await app.request("/healthz", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "req-1" },
    });
    const line = lines.find((l) => l.msg === "request")!;
    expect(line).toMatchObject({
      method: "GET",
      route: "/healthz",
      status: 200,
      outcome: "ok",
      requestId: "req-1",
      traceId,
    });
    expect(line.code).toBeUndefined();
    // A refusal carries its problem code; info level (pino 30), 5xx would be error (50).
    await app.request("/v1/me", { headers: { "x-request-id": "req-2" } });
    expect(lines.find((l) => l.requestId === "req-2" && l.msg === "request")).toMatchObject({
      status: 401,
      outcome: "refused",
      code: "unauthenticated",
      level: 30,
    });
    expect(typeof line.durationMs).toBe("number");
    const span = exporter.getFinishedSpans().find((s) => s.name === "GET /healthz")!;
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
  });
  it("the request line says the outcome and the problem code; 5xx lines are errors", async () => {
    const { lines, stream } = logLines();
    const app = createApp({ ...t.deps, log: pino({ level: "info" }, stream) });
    await app.request("/healthz");
    await app.request("/access/v1/evaluation", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    // An engine that refuses connections: the decision fails closed with a 503.
    const down = new Engine({ apiUrl: "http://127.0.0.1:1", timeoutMs: 500, searchTimeoutMs: 500 });
    down.pin(t.engine.storeId!, t.engine.modelId!);
    const broken = createApp({ ...t.deps, engine: down, log: pino({ level: "info" }, stream) });
    const ev = {
      subject: { type: "user", id: "a" },
      action: { name: "can_view" },
      resource: { type: "park", id: "p" },
    };
    await broken.request("/access/v1/evaluation", {
      method: "POST",
      body: JSON.stringify(ev),
      headers: { authorization: `Bearer ${t.keys.decide}`, "content-type": "application/json" },
    });
    const [ok, refused, failed] = lines.filter((l) => l.msg === "request");
    expect(ok).toMatchObject({ status: 200, outcome: "ok", level: 30 });
    expect(ok!.code).toBeUndefined();
    expect(refused).toMatchObject({ status: 401, outcome: "refused", code: "unauthenticated", level: 30 });
    expect(failed).toMatchObject({ status: 503, outcome: "failed", code: "engine-unavailable", level: 50 });
  });

  it("without an exporter spans are not recorded, yet the log line keeps the caller's trace id", async () => {
    startTelemetry({ spanProcessors: [] });
    try {
      const { lines, stream } = logLines();
      const app = createApp({ ...t.deps, log: pino({ level: "info" }, stream) });
      const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
      await app.request("/healthz", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      await app.request("/healthz");
      const [given, fresh] = lines.filter((l) => l.msg === "request");
      expect(given!.traceId).toBe(traceId);
      expect(fresh!.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(fresh!.traceId).not.toBe(traceId);
      expect(exporter.getFinishedSpans().some((s) => s.spanContext().traceId === traceId)).toBe(false);
    } finally {
      startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    }
  });
});

describe("telemetry: OTLP export only when OTEL_* asks for it", () => {
  it("exports nothing without an endpoint, and POSTs spans to <endpoint>/v1/traces with one", async () => {
    expect(exportersFromEnv({})).toEqual([]);
    expect(
      exportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_TRACES_EXPORTER: "none" }),
    ).toEqual([]);
    const received: { url?: string; bytes: number }[] = [];
    const collector = http.createServer((req, res) => {
      let bytes = 0;
      req.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      req.on("end", () => {
        received.push({ url: req.url, bytes });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => collector.listen(port, "127.0.0.1", () => r()));
    try {
      startTelemetry({
        spanProcessors: exportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/` }),
      });
      await withSpan("exported", {}, async () => {});
      await flushTelemetry(5000);
      expect(received.length).toBeGreaterThan(0);
      expect(received[0]!.url).toBe("/v1/traces");
      expect(received[0]!.bytes).toBeGreaterThan(0);
    } finally {
      startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      await new Promise((r) => collector.close(r));
    }
  });
});

describe("logs: redaction at info level", () => {
  it("redacts authorization headers, tokens and emails logged by mistake", () => {
    const lines: string[] = [];
    const log = createLogger("info", {
      write(chunk: string) {
        lines.push(chunk);
      },
    });
    const secret = {
      authorization: "Bearer azs_top",
      token: "tok_top",
      email: "top@example.test",
      actorEmail: "actor@example.test",
      headers: { authorization: "Bearer azs_h", cookie: "sid=1" },
      req: { headers: { authorization: "Bearer azs_req" } },
      invitation: { token: "tok_nested", email: "nested@example.test" },
      body: { invitation: { token: "tok_deep", email: "deep@example.test" } },
      apiKey: { key: "azs_key", name: "kept" },
    };
    log.info(secret, "oops");
    log.child({ requestId: "r1" }).info({ user: { email: "child@example.test" } }, "child");
    const text = lines.join("\n");
    for (const leaked of [
      "azs_top",
      "tok_top",
      "top@example.test",
      "actor@example.test",
      "azs_h",
      "sid=1",
      "azs_req",
      "tok_nested",
      "nested@example.test",
      "tok_deep",
      "deep@example.test",
      "azs_key",
      "child@example.test",
    ]) {
      expect(text, leaked).not.toContain(leaked);
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({ apiKey: { name: "kept" }, msg: "oops", level: 30 });
    expect(text).toContain("[redacted]");
  });
});
