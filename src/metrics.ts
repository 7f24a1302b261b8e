import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics, named authz_* with units in the name. One registry per
 * process (tests may build their own with createMetrics()).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "authz_process_" });
  return {
    registry,
    decisions: new Counter({
      name: "authz_decisions_total",
      help: "Decisions answered, by endpoint and result (allow, deny, error)",
      labelNames: ["endpoint", "result"] as const,
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: "authz_decision_duration_seconds",
      help: "Latency of decision endpoints",
      labelNames: ["endpoint"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    engineSeconds: new Histogram({
      name: "authz_engine_call_duration_seconds",
      help: "Latency of OpenFGA calls, by operation",
      labelNames: ["operation"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    engineErrors: new Counter({
      name: "authz_engine_errors_total",
      help: "OpenFGA calls that failed, by operation",
      labelNames: ["operation"] as const,
      registers: [registry],
    }),
    gauges: { Gauge },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

let shared: Metrics | undefined;
/** The process-wide metrics. */
export function metrics(): Metrics {
  shared ??= createMetrics();
  return shared;
}
