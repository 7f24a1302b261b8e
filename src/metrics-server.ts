import http from "node:http";
import type { Logger } from "pino";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `/metrics` on its own listener (API.md "Operations"): METRICS_HOST and
 * METRICS_PORT, no API key, never on the API port. Kept apart so that the
 * scrape port can be opened to monitoring (NetworkPolicy, Prometheus pod
 * annotations) without exposing the API, and the API port without metrics.
 */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  text: () => Promise<string>;
  log: Logger;
}): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: this listener serves GET /metrics\n");
      return;
    }
    opts.text().then(
      (body) => {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err) => {
        opts.log.warn({ err }, "metrics scrape failed");
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
