import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppDeps, createApp } from "../../src/app.js";
import { Engine } from "../../src/engine/client.js";
import { type FastPath, nodeListener } from "../../src/http/listener.js";
import { metrics } from "../../src/metrics.js";
import { evaluationFastPath } from "../../src/modules/decisions/fast-path.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg, userId } from "../support/factories.js";
import { logLines } from "../support/log-lines.js";
import { silentEngine } from "../support/silent-engine.js";

/**
 * The decision fast path (modules/decisions/fast-path.ts) answers
 * POST /access/v1/evaluation on the server's request event. Every request is
 * sent over a real socket to two servers on the same deps: the app alone,
 * and the app behind the fast path as src/server.ts runs it. They must
 * answer alike, byte for byte apart from generated request ids.
 */

const PATH = "/access/v1/evaluation";

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
}

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(port: number, s: Sent): Promise<Got> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...s.headers };
    if (s.body !== undefined && !s.chunked) headers["content-length"] = String(Buffer.byteLength(s.body));
    const req = http.request(
      { host: "127.0.0.1", port, method: s.method ?? "POST", path: s.path ?? PATH, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("error", reject);
    if (s.body !== undefined && s.chunked) {
      req.write(s.body.slice(0, 5));
      req.end(s.body.slice(5));
    } else req.end(s.body);
  });
}

/** What must be equal: status, the headers a client reads, and the body with generated ids blanked. */
function comparable(g: Got) {
  const id = g.headers["x-request-id"] as string | undefined;
  const blank = (s: string) => (id ? s.replaceAll(id, "<id>") : s);
  return {
    status: g.status,
    contentType: g.headers["content-type"],
    requestId: id === undefined ? "none" : /^[0-9a-f-]{36}$/.test(id) ? "<uuid>" : id,
    retryAfter: g.headers["retry-after"],
    wwwAuthenticate: g.headers["www-authenticate"],
    contentLength: g.headers["content-length"] === String(Buffer.byteLength(g.body)),
    body: blank(g.body),
  };
}

interface Servers {
  plain: number;
  fast: number;
  /** Requests the fast path took whole, and the ones it read and replayed through the app. */
  taken: number;
  replayed: number;
  close(): Promise<void>;
}

async function listen(listener: http.RequestListener): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer(listener);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as AddressInfo).port, server };
}

async function servers(deps: AppDeps): Promise<Servers> {
  const app = createApp(deps);
  const fast = evaluationFastPath(deps);
  const out = { taken: 0, replayed: 0 };
  const counted: FastPath = (req, res, replay) => {
    let replayed = false;
    const took = fast(req, res, (rq, rs, text) => {
      replayed = true;
      out.replayed++;
      replay(rq, rs, text);
    });
    // A replay happens after the body is read; count the taken ones once they are answered.
    if (took) res.on("finish", () => void (replayed || out.taken++));
    return took;
  };
  const plain = await listen(nodeListener(app.fetch, []));
  const withFast = await listen(nodeListener(app.fetch, [counted]));
  return Object.assign(out, {
    plain: plain.port,
    fast: withFast.port,
    async close() {
      for (const s of [plain.server, withFast.server]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  });
}

const ask = (subject: string, action: string, type: string, id: string) =>
  JSON.stringify({
    subject: { type: "user", id: subject },
    action: { name: action },
    resource: { type, id },
  });

describe("decision fast path: the same answers as the app (R-G4)", () => {
  let t: TestContext;
  let s: Servers;
  let org: { id: string; admin: string };
  const json = (key: string, more: Record<string, string> = {}) => ({
    "content-type": "application/json",
    authorization: `Bearer ${key}`,
    ...more,
  });

  beforeAll(async () => {
    t = await createTestContext();
    org = await createOrg(t);
    s = await servers(t.deps);
  });
  afterAll(async () => {
    await s?.close();
    await t?.close();
  });

  it("takes decisions whole and answers them as the app does, allow and deny", async () => {
    const allow = ask(org.admin, "can_manage_members", "organization", org.id);
    const deny = ask(userId("stranger"), "can_manage_members", "organization", org.id);
    const cases: Sent[] = [
      { headers: json(t.keys.decide), body: allow },
      { headers: json(t.keys.both), body: deny },
      // Unknown actions, internal relations and malformed ids are denies (200), as in the app.
      { headers: json(t.keys.decide), body: ask(org.admin, "role_admin", "organization", org.id) },
      { headers: json(t.keys.decide), body: ask("a b", "can_view", "park", "x#y") },
      // Unknown fields are dropped by the schema, a caller's context never decides.
      {
        headers: json(t.keys.decide),
        body: JSON.stringify({
          ...JSON.parse(allow),
          context: { current_time: "1999-01-01T00:00:00Z" },
          x: 1,
        }),
      },
      { headers: json(t.keys.decide, { "x-request-id": "caller-id.1" }), body: allow },
      {
        headers: json(t.keys.decide, { "content-type": "application/vnd.authzen+json; charset=utf-8" }),
        body: allow,
      },
    ];
    const taken0 = s.taken;
    for (const c of cases) {
      const [a, b] = [await send(s.plain, c), await send(s.fast, c)];
      expect(comparable(b), c.body).toEqual(comparable(a));
      expect(a.status).toBe(200);
    }
    expect(s.taken - taken0).toBe(cases.length);
    expect(JSON.parse((await send(s.fast, cases[0]!)).body)).toEqual({ decision: true });
    expect(JSON.parse((await send(s.fast, cases[1]!)).body)).toEqual({ decision: false });
    expect((await send(s.fast, cases[5]!)).headers["x-request-id"]).toBe("caller-id.1");
  });

  it("leaves every other request to the app, or replays it there once its body is read", async () => {
    const allow = ask(org.admin, "can_manage_members", "organization", org.id);
    const left: Sent[] = [
      { headers: json(t.keys.manage), body: allow },
      { headers: json("wrong-key"), body: allow },
      { headers: { "content-type": "application/json" }, body: allow },
      { headers: json(t.keys.decide, { "content-type": "text/plain" }), body: allow },
      { headers: json(t.keys.decide), body: `{"pad":"${"x".repeat(t.config.BODY_LIMIT_BYTES)}"}` },
      { headers: json(t.keys.decide), body: "" },
      { headers: json(t.keys.decide), body: allow, chunked: true },
      { headers: json(t.keys.decide), body: allow, path: `${PATH}?x=1` },
      { headers: json(t.keys.decide), body: allow, path: `${PATH}/` },
      { headers: json(t.keys.decide), method: "GET" },
      { headers: json(t.keys.decide, { "x-request-id": "bad id!" }), body: "{" },
    ];
    const replayed: Sent[] = [
      { headers: json(t.keys.decide), body: "{not json" },
      { headers: json(t.keys.decide), body: "[1,2]" },
      { headers: json(t.keys.decide), body: "null" },
      { headers: json(t.keys.decide), body: JSON.stringify({ subject: { type: "user" }, action: {} }) },
      { headers: json(t.keys.decide, { "x-request-id": "req-9" }), body: '{"subject":"\u0000"}' },
    ];
    const [taken0, replayed0] = [s.taken, s.replayed];
    for (const c of [...left, ...replayed]) {
      const [a, b] = [await send(s.plain, c), await send(s.fast, c)];
      expect(comparable(b), JSON.stringify(c).slice(0, 200)).toEqual(comparable(a));
      expect(b.status, JSON.stringify(c).slice(0, 200)).not.toBe(500);
    }
    expect(s.taken).toBe(taken0);
    // The last of `left` has a body that is not JSON too, but a bad request id is no reason to be
    // left: it is read and replayed.
    expect(s.replayed - replayed0).toBe(replayed.length + 1);
  });

  it("counts, times and logs what it answers as the route does", async () => {
    const { lines, stream: sink } = logLines();
    const logged = await servers({ ...t.deps, log: pino({ level: "debug" }, sink) });
    try {
      const count = async (result: string) =>
        (await metrics().decisions.get()).values.find(
          (v) => v.labels.endpoint === "evaluation" && v.labels.result === result,
        )?.value ?? 0;
      const allow0 = await count("allow");
      const body = ask(org.admin, "can_manage_members", "organization", org.id);
      for (const port of [logged.plain, logged.fast]) {
        const got = await send(port, {
          headers: json(t.keys.decide, { "x-request-id": `line-${port}` }),
          body,
        });
        expect(got.status).toBe(200);
      }
      expect(logged.taken).toBe(1);
      expect(await count("allow")).toBe(allow0 + 2);
      const of = (port: number, msg: string) =>
        lines.find((l) => l.requestId === `line-${port}` && l.msg === msg) as Record<string, unknown>;
      const keys = (l: Record<string, unknown>) => Object.keys(l).sort();
      for (const msg of ["request", "decision"]) {
        const [a, b] = [of(logged.plain, msg), of(logged.fast, msg)];
        expect(b, msg).toBeDefined();
        expect(keys(b)).toEqual(keys(a));
        const { requestId: _a, time: _t, durationMs: _d, traceId: _r, ...rest } = a;
        expect(b).toMatchObject(rest);
      }
      expect(of(logged.fast, "request")).toMatchObject({
        route: PATH,
        status: 200,
        outcome: "ok",
        apiKey: "decider",
        level: 30,
      });
    } finally {
      await logged.close();
    }
  });

  it("R-G2: an engine that does not answer is the same 503 problem, never an allow", async () => {
    const hole = await silentEngine();
    try {
      const engine = new Engine({ apiUrl: hole.url, timeoutMs: 300, searchTimeoutMs: 600 });
      engine.pin(t.engine.storeId!, t.engine.modelId!);
      const down = await servers({
        ...t.deps,
        engine,
        decisions: undefined,
        config: { ...t.config, OPENFGA_TIMEOUT_MS: 300 },
      });
      try {
        const c = {
          headers: json(t.keys.decide, { "x-request-id": "down-7" }),
          body: ask(org.admin, "can_manage_members", "organization", org.id),
        };
        const [a, b] = [await send(down.plain, c), await send(down.fast, c)];
        expect(comparable(b)).toEqual(comparable(a));
        expect(b.status).toBe(503);
        expect(b.headers["retry-after"]).toBe("1");
        expect(JSON.parse(b.body)).toMatchObject({ code: "engine-unavailable", requestId: "down-7" });
        expect(down.taken).toBe(1);
      } finally {
        await down.close();
        engine.close();
      }
    } finally {
      await hole.close();
    }
  });
});
