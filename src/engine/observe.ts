import { FgaApiValidationError } from "@openfga/sdk";
import { SpanKind } from "@opentelemetry/api";
import { DomainError, InvalidInput, Unavailable } from "../kernel/errors.js";
import { metrics } from "../metrics.js";
import { withSpan } from "../telemetry.js";
import { HttpTimeout, type JsonClient, type JsonResponse } from "./http.js";

/**
 * Every engine call is a client span `openfga.<operation>` and a sample of
 * authz_engine_call_duration_seconds; calls the engine did not answer
 * (Unavailable: down, timeout, 5xx) count in authz_engine_errors_total. A
 * request refused as invalid is an answer, not an engine error. readiness
 * pings are left out: they would drown the traces every two seconds.
 */
export async function observe<T>(
  operation: string,
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<T> {
  const m = metrics();
  const stop = m.engineSeconds.startTimer({ operation });
  try {
    return await withSpan(
      `openfga.${operation}`,
      { "rpc.system": "openfga", "rpc.method": operation, ...attributes },
      fn,
      SpanKind.CLIENT,
    );
  } catch (err) {
    if (!(err instanceof DomainError) || err.kind === "unavailable") m.engineErrors.inc({ operation });
    throw err;
  } finally {
    stop();
  }
}

/**
 * Engine failures become Unavailable (the caller answers 503 and never allows);
 * a request the engine refuses as invalid (unknown type or relation in a custom
 * model) becomes InvalidInput with code `engine-validation`, which decision
 * code turns into a deny.
 */
export function engineError(err: unknown): Error {
  if (err instanceof FgaApiValidationError) {
    return InvalidInput("engine-validation", err.apiErrorMessage ?? "the engine refused the request");
  }
  return engineUnavailable((err as Error)?.message ?? String(err));
}

/** The engine did not answer (down, timeout, 5xx): 503, never an allow. `cause` goes to the log. */
export function engineUnavailable(cause: string): Error {
  const e = Unavailable("engine-unavailable", "the authorization engine did not answer");
  (e as Error & { cause?: unknown }).cause = cause;
  return e;
}

/** POST on the lean client (Check, BatchCheck): a 400/422 is refused input, anything else Unavailable. */
export async function postJson(
  client: JsonClient,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<unknown> {
  let res: JsonResponse;
  try {
    res = await client.post(path, body, timeoutMs);
  } catch (err) {
    throw engineUnavailable(err instanceof HttpTimeout ? err.message : String(err));
  }
  if (res.status >= 200 && res.status < 300) return res.body;
  const msg = (res.body as { message?: string } | undefined)?.message;
  if (res.status === 400 || res.status === 422) {
    throw InvalidInput("engine-validation", msg ?? "the engine refused the request");
  }
  throw engineUnavailable(`HTTP ${res.status}: ${msg ?? ""}`);
}
