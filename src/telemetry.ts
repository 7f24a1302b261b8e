import type { IncomingHttpHeaders } from "node:http";
import {
  type Attributes,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { DomainError } from "./kernel/errors.js";

/**
 * OpenTelemetry set-up, imported first by main.ts.
 *
 * A tracer provider is always registered, so every request has a trace id (it
 * goes into the log line and answers a caller's `traceparent`). Spans leave the
 * process only when the standard variables ask for it: OTLP over HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
 * (the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself), nothing
 * when OTEL_TRACES_EXPORTER=none, no provider at all when OTEL_SDK_DISABLED=true.
 * This is the only module that reads OTEL_* variables: they are a standard
 * contract with the collector, not application configuration.
 */

const SCOPE = "authz-sidecar";
let current: NodeTracerProvider | undefined;
/** Whether finished spans go anywhere; when not, spans are not recorded (trace ids still are). */
let recording = false;

/**
 * True when spans are recorded and exported. When no processor takes them,
 * spans are sampled off (cheap non-recording spans that still carry the
 * caller's or a new trace id for the logs), and the hot path skips the
 * context propagation that only recorded child spans need: on Node 20 an
 * active AsyncLocalStorage costs a promise hook on every promise.
 */
export function tracesRecorded(): boolean {
  return recording;
}

export interface TelemetryOptions {
  /** Where finished spans go; tests pass a SimpleSpanProcessor over an InMemorySpanExporter. */
  spanProcessors?: SpanProcessor[];
  serviceName?: string;
}

/** Register a provider (replacing an earlier one: the last call wins, which tests rely on). */
export function startTelemetry(opts: TelemetryOptions = {}): NodeTracerProvider {
  if (current) {
    void current.shutdown().catch(() => {});
    trace.disable();
    context.disable();
    propagation.disable();
  }
  const resource = detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName ?? process.env.OTEL_SERVICE_NAME ?? "authz-sidecar",
    }),
  );
  const spanProcessors = opts.spanProcessors ?? [];
  recording = spanProcessors.length > 0;
  const sampler = recording
    ? new ParentBasedSampler({ root: new AlwaysOnSampler() })
    : new AlwaysOffSampler();
  const provider = new NodeTracerProvider({ resource, spanProcessors, sampler });
  provider.register();
  current = provider;
  return provider;
}

/** The processors the environment asks for: OTLP/HTTP when an endpoint is set, else none. */
export function exportersFromEnv(env: Record<string, string | undefined> = process.env): SpanProcessor[] {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if ((!traces && !base) || env.OTEL_TRACES_EXPORTER === "none") return [];
  // The signal-specific endpoint is used as is; the general one gets /v1/traces (OTLP spec).
  const url = traces || `${base!.replace(/\/+$/, "")}/v1/traces`;
  return [new BatchSpanProcessor(new OTLPTraceExporter({ url }))];
}

/** Export what is buffered (on shutdown, so the last spans are not lost); the provider keeps working. */
export async function flushTelemetry(timeoutMs = 2000): Promise<void> {
  if (!current) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    current.forceFlush().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}

export function tracer() {
  return trace.getTracer(SCOPE);
}

/**
 * Client errors (every typed domain error except `unavailable`: 4xx answers)
 * are outcomes, not failures: they are noted as an attribute, not recorded as
 * exceptions, and leave the span status unset.
 */
export function noteError(span: Span, err: unknown): void {
  if (err instanceof DomainError && err.kind !== "unavailable") {
    span.setAttribute("authz.error.code", err.code);
    return;
  }
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
  if (err instanceof DomainError) span.setAttribute("authz.error.code", err.code);
}

const UNRECORDED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Request headers as a WHATWG Headers (Hono) or as Node's IncomingHttpHeaders (the decision fast path). */
type RequestHeaders = Headers | IncomingHttpHeaders;

const headerGetter = {
  get: (h: RequestHeaders, key: string): string | string[] | undefined =>
    h instanceof Headers ? (h.get(key) ?? undefined) : h[key],
  keys: (h: RequestHeaders) => (h instanceof Headers ? [...h.keys()] : Object.keys(h)),
};

export interface ServerSpan {
  span: Span;
  /** The caller's trace id (W3C traceparent) or a new one; for the logs. */
  traceId?: string;
  /** Run the request with this span active (only when spans are recorded: see tracesRecorded). */
  run<T>(fn: () => T): T;
}

/** The HTTP server span of one request, continuing a caller's W3C `traceparent`. */
export function startServerSpan(method: string, path: string, headers: RequestHeaders): ServerSpan {
  const parent = propagation.extract(context.active(), headers, headerGetter);
  const span = tracer().startSpan(
    method,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": path } },
    parent,
  );
  const sc = span.spanContext();
  return {
    span,
    traceId: isSpanContextValid(sc) ? sc.traceId : undefined,
    run: (fn) => (recording ? context.with(trace.setSpan(parent, span), fn) : fn()),
  };
}

/** Name the server span by its route, set its status and end it. */
export function endServerSpan(
  span: Span,
  r: { method: string; route: string; status: number; actor?: string },
): void {
  span.updateName(`${r.method} ${r.route}`);
  span.setAttributes({ "http.route": r.route, "http.response.status_code": r.status });
  if (r.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  if (r.actor) span.setAttribute("enduser.id", r.actor);
  span.end();
}

/** Run `fn` in an active span named `name`; errors are noted (see noteError) and rethrown. */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (!recording) return fn(UNRECORDED);
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      noteError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

if (process.env.OTEL_SDK_DISABLED !== "true") startTelemetry({ spanProcessors: exportersFromEnv() });
