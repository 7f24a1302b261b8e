import net from "node:net";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../src/local/ports.js";
import { cloneDatabase, type ServiceProcess, startServiceProcess } from "../support/service-process.js";

/**
 * The process survives the database (R-G2): sessions terminated in a loop
 * during changes, connections refused, a restart (every connection reset,
 * then refused, then back). Every answer is 2xx, 409 or 503 (503 with
 * Retry-After), never a 500 and never a dead process; afterwards the service
 * works again without a restart.
 */

const SERVER = () => inject("databaseUrl");

/** A TCP proxy in front of PostgreSQL that the test can make refuse or reset connections. */
async function pgProxy() {
  const target = new URL(SERVER());
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1", () => resolve());
    });
  await listen();
  return {
    port,
    /** Reset every open connection and refuse new ones (what a stopped server looks like). */
    async down() {
      const closing = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
      for (const s of sockets) s.resetAndDestroy();
      await closing;
    },
    up: listen,
    async close() {
      await this.down();
    },
  };
}

async function call(svc: ServiceProcess, method: string, path: string, actor: string, body?: unknown) {
  const res = await fetch(`${svc.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${svc.key}`,
      "x-actor-id": actor,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: text ? JSON.parse(text) : null,
  };
}

/** Staff role changes (each writes rows, audit and tuples) from a few concurrent clients for `ms`. */
async function churn(
  svc: ServiceProcess,
  ms: number,
  seen: { status: number; code?: string; retryAfter: string | null }[],
) {
  const until = Date.now() + ms;
  const worker = async (w: number) => {
    for (let i = 0; Date.now() < until; i++) {
      const role = i % 2 ? "support" : "sales";
      const r = await call(svc, "PUT", `/v1/platform/staff/staff-${w}`, "sys", { role }).catch(
        (err: Error) => ({
          status: 0,
          retryAfter: null,
          body: { code: `no answer: ${err.message}` },
        }),
      );
      if (r.status === 0 && svc.exited()) break;
      seen.push({ status: r.status, code: r.body?.code, retryAfter: r.retryAfter });
      if (r.status === 503) await new Promise((res) => setTimeout(res, 50));
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
}

function expectOnlyHealthyAnswers(seen: { status: number; code?: string; retryAfter: string | null }[]) {
  const bad = seen.filter((s) => !(s.status < 300 || s.status === 409 || s.status === 503));
  expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
  expect(seen.filter((s) => s.status === 503 && !s.retryAfter)).toEqual([]);
}

describe("R-G2 the service process survives the database", () => {
  let admin: postgres.Sql;
  beforeAll(() => {
    admin = postgres(SERVER(), { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await admin?.end();
  });

  it("sessions terminated in a loop during changes: the process stays up, answers are 2xx/409/503, and it recovers", async () => {
    const db = await cloneDatabase();
    const svc = await startServiceProcess({
      dbName: db.dbName,
      databaseUrl: db.url,
      env: {
        BOOTSTRAP_SYSADMINS: "sys",
        ...(process.env.TRACE_PRELOAD ? { NODE_OPTIONS: `--import ${process.env.TRACE_PRELOAD}` } : {}),
      },
    });
    try {
      let killing = true;
      let kills = 0;
      const killer = (async () => {
        while (killing) {
          // Only this test's database: other test runs share the server.
          const r = await admin`select pg_terminate_backend(pid) as ok from pg_stat_activity
            where datname = ${db.dbName} and pid <> pg_backend_pid()`;
          kills += r.filter((x) => x.ok).length;
          await new Promise((res) => setTimeout(res, 150));
        }
      })();
      const seen: { status: number; code?: string; retryAfter: string | null }[] = [];
      await churn(svc, 8000, seen);
      killing = false;
      await killer;

      expect(
        svc.exited(),
        svc.lines
          .slice(-20)
          .map((l) => JSON.stringify(l))
          .join("\n"),
      ).toBe(false);
      expect(kills).toBeGreaterThan(10);
      expect(seen.length).toBeGreaterThan(10);
      expectOnlyHealthyAnswers(seen);
      expect(svc.lines.filter((l) => /Cannot read properties of null/.test(JSON.stringify(l)))).toEqual([]);
      // Back to normal without a restart.
      await expect
        .poll(
          async () =>
            (await call(svc, "PUT", "/v1/platform/staff/after-kill", "sys", { role: "support" })).status,
          {
            timeout: 15_000,
            interval: 250,
          },
        )
        .toBe(200);
    } finally {
      await svc.stop();
      await db.drop();
    }
  }, 120_000);

  it("refused connections and a restart: 503 database-unavailable with Retry-After, never 500, then it works again", async () => {
    const db = await cloneDatabase();
    const proxy = await pgProxy();
    const u = new URL(db.url);
    u.port = String(proxy.port);
    const svc = await startServiceProcess({
      dbName: db.dbName,
      databaseUrl: u.toString(),
      env: { BOOTSTRAP_SYSADMINS: "sys" },
    });
    try {
      expect((await call(svc, "PUT", "/v1/platform/staff/s1", "sys", { role: "support" })).status).toBe(200);
      const seen: { status: number; code?: string; retryAfter: string | null }[] = [];
      // A restart: every connection reset, then refused for a few seconds, then back.
      const outage = (async () => {
        await new Promise((r) => setTimeout(r, 500));
        await proxy.down();
        await new Promise((r) => setTimeout(r, 3000));
        await proxy.up();
      })();
      await churn(svc, 5000, seen);
      await outage;
      expect(svc.exited()).toBe(false);
      expectOnlyHealthyAnswers(seen);
      const unavailable = seen.filter((s) => s.status === 503);
      expect(unavailable.length).toBeGreaterThan(0);
      expect(
        unavailable.filter((s) => s.code !== "database-unavailable" && s.code !== "change-outcome-unknown"),
      ).toEqual([]);

      // Refused for good: each change answers 503 database-unavailable at once.
      await proxy.down();
      for (const role of ["sales", "support"]) {
        const r = await call(svc, "PUT", "/v1/platform/staff/s1", "sys", { role });
        expect([r.status, r.body.code, r.retryAfter]).toEqual([503, "database-unavailable", "1"]);
      }
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
      await proxy.up();
      await expect
        .poll(
          async () => (await call(svc, "PUT", "/v1/platform/staff/s2", "sys", { role: "support" })).status,
          {
            timeout: 15_000,
            interval: 250,
          },
        )
        .toBe(200);
      expect(svc.exited()).toBe(false);
    } finally {
      await svc.stop();
      await proxy.close();
      await db.drop();
    }
  }, 120_000);
});
