import http from "node:http";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { nodeListener } from "./http/listener.js";
import { metrics } from "./metrics.js";
import { startMetricsServer } from "./metrics-server.js";
import { evaluationFastPath } from "./modules/decisions/fast-path.js";
import { loadRouteTable } from "./modules/gateway/table.js";
import { buildDependencies } from "./startup/dependencies.js";
import { JobRunner, periodicJobs } from "./startup/jobs.js";
import { runSteps, startupSteps } from "./startup/steps.js";
import { flushTelemetry } from "./telemetry.js";

export { loadTuplesFile } from "./startup/steps.js";

export interface RunningService {
  url: string;
  /** The metrics listener's `/metrics` URL (when METRICS_ENABLED). */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/**
 * Start everything: the dependencies (startup/dependencies.ts), the HTTP
 * server at once (so /healthz answers and /readyz says what is missing), then
 * the ordered start-up steps, each retried (startup/steps.ts), and the
 * periodic jobs (startup/jobs.ts). stop() drains in the reverse order.
 */
export async function startService(config: Config, log: Logger): Promise<RunningService> {
  // A bad forward-auth route table stops the start before any child process exists.
  if (config.ROUTES_FILE) loadRouteTable(config.ROUTES_FILE);
  const built = await buildDependencies(config, log);
  const app = createApp({ ...built.deps, readiness: built.readiness });
  const metricsServer = config.METRICS_ENABLED
    ? await startMetricsServer({
        host: config.METRICS_HOST ?? config.HOST,
        port: config.METRICS_PORT,
        text: () => metrics().registry.metrics(),
        log,
      })
    : undefined;
  // The decision endpoint is answered on the request event itself; everything else by the app.
  const deps = { ...built.deps, readiness: built.readiness };
  const server = http.createServer(nodeListener(app.fetch, [evaluationFastPath(deps)], config.HOST));
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, () => resolve()));
  const addr = server.address();
  const url = `http://${config.HOST}:${typeof addr === "object" && addr ? addr.port : config.PORT}`;

  let stopping = false;
  const jobs = new JobRunner(built, periodicJobs(built));
  jobs.begin("start");
  const startup = runSteps(startupSteps(built), log, () => stopping).then(
    () => {
      built.readiness.model = true;
      if (stopping) return;
      jobs.begin("ready");
      log.info({ url }, "ready");
    },
    (err) => {
      if (!stopping) log.error({ err }, "start-up failed");
    },
  );
  if (built.printedKey) {
    process.stdout.write(
      `\nauthz-sidecar listening on ${url}\nlocal API key (decide+manage): ${built.printedKey}\n\n`,
    );
  }

  return {
    url,
    metricsUrl: metricsServer?.url,
    async stop() {
      stopping = true;
      // Stop accepting, let in-flight requests finish (bounded), then the jobs, pools and children.
      await closeServer(server, config.SHUTDOWN_TIMEOUT_MS);
      await metricsServer?.close();
      await startup;
      await jobs.stop();
      await built.close();
      // Flush the last spans to the collector (no-op without an OTLP endpoint).
      await flushTelemetry();
    },
  };
}

function closeServer(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
