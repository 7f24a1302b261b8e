import http from "node:http";
import https from "node:https";

/**
 * A lean keep-alive JSON client for the hot path (Check, BatchCheck). The
 * SDK's axios stack costs more CPU per call than the call itself on a cache
 * miss; this is one `http.request` on a pooled socket, with a hard deadline.
 */
export interface JsonResponse {
  status: number;
  body: unknown;
}

export class HttpTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "HttpTimeout";
  }
}

export class JsonClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly headers: Record<string, string>;
  private readonly watched = new WeakSet<object>();
  private closing = false;
  /** Called when a pooled connection closes without us closing it (the engine went away, or idled it out). */
  onConnectionLost: () => void = () => {};

  constructor(apiUrl: string, token?: string, maxSockets = 256) {
    this.base = new URL(apiUrl);
    const secure = this.base.protocol === "https:";
    this.mod = secure ? https : http;
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets, scheduling: "lifo" });
    this.headers = { "content-type": "application/json", accept: "application/json" };
    if (token) this.headers.authorization = `Bearer ${token}`;
  }

  post(path: string, payload: unknown, timeoutMs: number): Promise<JsonResponse> {
    const data = JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      const req = this.mod.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          path: this.base.pathname.replace(/\/$/, "") + path,
          method: "POST",
          agent: this.agent,
          headers: { ...this.headers, "content-length": Buffer.byteLength(data) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = text;
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
          res.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      req.on("socket", (socket) => {
        if (this.watched.has(socket)) return;
        this.watched.add(socket);
        socket.on("close", () => {
          if (!this.closing) this.onConnectionLost();
        });
      });
      const timer = setTimeout(() => req.destroy(new HttpTimeout(timeoutMs)), timeoutMs);
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(data);
    });
  }

  close(): void {
    this.closing = true;
    this.agent.destroy();
  }
}
