import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";

type Fetch = (
  req: Request,
  env: { incoming: IncomingMessage; outgoing: ServerResponse },
) => Response | Promise<Response>;

/** Re-dispatch a request whose body was already read (as `text`) through the app. */
export type Replay = (req: IncomingMessage, res: ServerResponse, text: string) => void;

/**
 * A route answered on the server's request event, before the app (e.g. the
 * decision endpoint, modules/decisions/fast-path.ts). It returns false to
 * leave the request to the app untouched, or true once it owns it; after
 * reading the body it may still hand the request to the app with `replay`.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, replay: Replay) => boolean;

/**
 * The Node request listener of the service: each fast path in turn, then the
 * Hono app through @hono/node-server (which also installs its lighter
 * global Request/Response, as `serve()` does).
 */
export function nodeListener(fetch: Fetch, fastPaths: FastPath[], hostname?: string) {
  const app = getRequestListener(fetch as never, { hostname });
  const replay: Replay = (req, res, text) => void replayBody(fetch, req, res, text, hostname);
  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const fast of fastPaths) if (fast(req, res, replay)) return;
    void app(req, res);
  };
}

async function replayBody(
  fetch: Fetch,
  req: IncomingMessage,
  res: ServerResponse,
  text: string,
  hostname?: string,
): Promise<void> {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    const url = `http://${req.headers.host ?? hostname ?? "localhost"}${req.url ?? "/"}`;
    const answer = await fetch(new Request(url, { method: req.method, headers, body: text }), {
      incoming: req,
      outgoing: res,
    });
    const body = Buffer.from(await answer.arrayBuffer());
    const out: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      out[k] = v;
    });
    out["content-length"] = String(body.length);
    res.writeHead(answer.status, out);
    res.end(body);
  } catch {
    // app.onError answers every handler error; this is the listener's own failure.
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end("internal error");
  }
}
