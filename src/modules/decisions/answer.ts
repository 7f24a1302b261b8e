import type { Logger } from "pino";
import type { Deps } from "../../kernel/deps.js";
import { metrics } from "../../metrics.js";
import type { EvaluationInput } from "./schemas.js";
import { evaluate } from "./service.js";

export type Result = "allow" | "deny" | "error" | "ok";

/** Count every answer by endpoint and result and time the endpoint; failures count as `error`. */
export async function observe<T>(
  endpoint: string,
  fn: () => Promise<T>,
  results: (r: T) => Result[],
): Promise<T> {
  const m = metrics();
  const stop = m.decisionSeconds.startTimer({ endpoint });
  try {
    const r = await fn();
    // One increment per result label (a batch has up to hundreds of items).
    const counts = new Map<Result, number>();
    for (const result of results(r)) counts.set(result, (counts.get(result) ?? 0) + 1);
    for (const [result, n] of counts) m.decisions.inc({ endpoint, result }, n);
    return r;
  } catch (err) {
    m.decisions.inc({ endpoint, result: "error" });
    throw err;
  } finally {
    stop();
  }
}

/** One debug line per decision, ids only (never properties or context values). */
export function logDecision(log: Logger, fields: Record<string, unknown>) {
  log.debug(fields, "decision");
}

/**
 * POST /access/v1/evaluation after its body was validated: the decision,
 * counted, timed and logged. The Hono route and the server's fast path
 * (fast-path.ts) both answer through it.
 */
export async function answerEvaluation(deps: Deps, q: EvaluationInput, log: Logger): Promise<boolean> {
  const decision = await observe(
    "evaluation",
    () => evaluate(deps, q),
    (d) => [d ? "allow" : "deny"],
  );
  logDecision(log, {
    endpoint: "evaluation",
    subject: `${q.subject.type}:${q.subject.id}`,
    action: q.action.name,
    resource: `${q.resource.type}:${q.resource.id}`,
    decision,
  });
  return decision;
}
