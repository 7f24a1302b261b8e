import { randomUUID } from "node:crypto";
import pino from "pino";
import postgres from "postgres";
import { describe, expect, inject, it } from "vitest";
import { testConfig } from "../../src/config.js";
import { migrate } from "../../src/db/migrate.js";
import { createDb } from "../../src/db/pool.js";
import { generateApiKey } from "../../src/http/auth.js";
import { freePort } from "../../src/local/ports.js";
import { startService } from "../../src/server.js";

async function withEmptyDb<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const server = inject("databaseUrl");
  const name = `authz_t_${inject("runId")}_m${randomUUID().slice(0, 6)}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(server);
  u.pathname = `/${name}`;
  try {
    return await fn(u.toString());
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

describe("migrations", () => {
  it("apply once, are safe to run twice and concurrently", async () => {
    await withEmptyDb(async (url) => {
      const pools = [1, 2, 3].map(() => createDb({ url, max: 2 }));
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const applied = results.flatMap((r) => r.applied);
      expect(new Set(applied).size).toBe(applied.length);
      expect(applied).toContain("0001_init.sql");
      const again = await migrate(pools[0]!);
      expect(again.applied).toEqual([]);
      const rows = await pools[0]!`select version from schema_migrations`;
      expect(rows.length).toBe(again.skipped.length);
      await Promise.all(pools.map((p) => p.end()));
    });
  });
});

describe("start-up with dependencies down", () => {
  it("keeps serving /healthz and reports each missing dependency on /readyz", async () => {
    const deadDb = `postgres://postgres@127.0.0.1:${await freePort()}/none`;
    const deadFga = `http://127.0.0.1:${await freePort()}`;
    const svc = await startService(
      testConfig({
        PORT: "0",
        METRICS_PORT: "0",
        DATABASE_URL: deadDb,
        OPENFGA_API_URL: deadFga,
        API_KEYS: `k:decide:${"0".repeat(64)}`,
      }),
      pino({ level: "silent" }),
    );
    try {
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
      // The readiness probe runs every 2 s: wait for it to have tried the database.
      let ready = await fetch(`${svc.url}/readyz`);
      let body = await ready.json();
      for (let i = 0; i < 50 && !String(body.checks.database).startsWith("unreachable"); i++) {
        await new Promise((r) => setTimeout(r, 200));
        ready = await fetch(`${svc.url}/readyz`);
        body = await ready.json();
      }
      expect(ready.status).toBe(503);
      expect(body.status).toBe("not-ready");
      expect(body.checks).toEqual({
        database: expect.stringMatching(/^unreachable: /),
        // The engine is probed once the model is loaded; the model waits for both.
        engine: "not checked yet",
        model: "not loaded yet",
      });
      // API.md Operations: /metrics on its own listener, without a key, never on the API port.
      expect(svc.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(svc.metricsUrl).not.toBe(`${svc.url}/metrics`);
      const scrape = await fetch(svc.metricsUrl!);
      expect([scrape.status, await scrape.text()]).toEqual([200, expect.stringMatching(/^# HELP authz_/m)]);
      expect((await fetch(`${svc.url}/metrics`)).status).toBe(404);
    } finally {
      await svc.stop();
    }
  });

  it("turns ready when the database is reachable, with the engine bootstrapped", async () => {
    const key = generateApiKey();
    await withEmptyDb(async (url) => {
      const svc = await startService(
        testConfig({
          PORT: "0",
          METRICS_PORT: "0",
          DATABASE_URL: url,
          OPENFGA_API_URL: inject("openfgaUrl"),
          OPENFGA_STORE_NAME: `s-${randomUUID()}`,
          API_KEYS: `k:decide:${key.hash}`,
        }),
        pino({ level: "silent" }),
      );
      try {
        const deadline = Date.now() + 20_000;
        let res = await fetch(`${svc.url}/readyz`);
        while (Date.now() < deadline && res.status !== 200) {
          await new Promise((r) => setTimeout(r, 200));
          res = await fetch(`${svc.url}/readyz`);
        }
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({
          status: "ready",
          checks: { database: "ok", engine: "ok", model: "ok" },
        });
        // The engine was bootstrapped with the model: a decision answers (a deny, 200).
        const decision = await fetch(`${svc.url}/access/v1/evaluation`, {
          method: "POST",
          headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
          body: JSON.stringify({
            subject: { type: "user", id: "nobody" },
            action: { name: "can_view" },
            resource: { type: "park", id: "p1" },
          }),
        });
        expect([decision.status, (await decision.json()).decision]).toEqual([200, false]);
      } finally {
        await svc.stop();
      }
    });
  });
});
