/**
 * OpenTelemetry set-up, imported first by main.ts. (Filled in by the
 * operations work: OTLP export when OTEL_* variables are set.)
 */
export {};
