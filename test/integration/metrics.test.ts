import { readFileSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { Engine } from "../../src/engine/client.js";
import { metrics } from "../../src/metrics.js";
import { type MetricsServer, startMetricsServer } from "../../src/metrics-server.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg } from "../support/factories.js";
import { inviteMember } from "../support/invitation-factories.js";

const README = path.resolve(import.meta.dirname, "../../README.md");

/** The value of one sample line, e.g. `authz_invitations{status="pending"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("Prometheus /metrics (its own listener, API.md Operations)", () => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let server: MetricsServer;
  const scrape = async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    return res.text();
  };
  const evaluation = (a: ReturnType<typeof createApp>) =>
    a.request("/access/v1/evaluation", {
      method: "POST",
      headers: { authorization: `Bearer ${t.keys.decide}`, "content-type": "application/json" },
      body: JSON.stringify({
        subject: { type: "user", id: "a" },
        action: { name: "can_view" },
        resource: { type: "park", id: "p" },
      }),
    });

  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
    metrics().registerDbCollectors(t.sql);
    app = createApp(t.deps);
    server = await startMetricsServer({
      host: "127.0.0.1",
      port: 0,
      text: () => metrics().registry.metrics(),
      log: t.deps.log,
    });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it("is served without a key on the metrics listener, and not at all on the API port", async () => {
    expect(await scrape()).toMatch(/^# TYPE authz_decisions_total counter/m);
    expect((await fetch(server.url.replace("/metrics", "/healthz"))).status).toBe(404);
    expect((await app.request("/metrics")).status).toBe(404);
    expect((await t.request("GET", "/metrics")).status).toBe(404);
  });

  it("reads outbox backlog, its oldest age and invitations by status from the database at scrape time", async () => {
    const org = await createOrg(t);
    await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
    await t.sql`insert into outbox (event_id, topic, aggregate_id, payload, created_at)
      values (gen_random_uuid(), 'test.event', 'x', '{}'::jsonb, now() - interval '90 seconds')`;
    const [outbox] = await t.sql`select count(*)::int as n from outbox where delivered_at is null`;
    const text = await scrape();
    expect(sample(text, "authz_outbox_backlog_events")).toBe(outbox!.n);
    expect(sample(text, "authz_outbox_oldest_age_seconds")).toBeGreaterThanOrEqual(90);
    expect(sample(text, 'authz_invitations{status="pending"}')).toBe(1);
    expect(sample(text, 'authz_invitations{status="accepted"}')).toBe(0);
    expect(sample(text, "authz_db_pool_max_connections")).toBe(5);
    expect(sample(text, "authz_db_transactions_in_flight")).toBe(0);
  });

  it("counts decisions and engine calls, and engine calls that got no answer", async () => {
    expect((await evaluation(app)).status).toBe(200);
    const down = new Engine({ apiUrl: "http://127.0.0.1:1", timeoutMs: 500, searchTimeoutMs: 500 });
    down.pin(t.engine.storeId!, t.engine.modelId!);
    expect((await evaluation(createApp({ ...t.deps, engine: down }))).status).toBe(503);
    const text = await scrape();
    expect(
      sample(text, 'authz_engine_call_duration_seconds_count{operation="check"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'authz_engine_errors_total{operation="check"}')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^authz_decisions_total\{[^}]*result="deny"[^}]*\} \d+/m);
    expect(text).toMatch(/^authz_decision_duration_seconds_count\{[^}]*\} \d+/m);
  });

  it("keeps serving when the database gauges cannot be read, and counts it", async () => {
    const broken = postgres("postgres://nobody@127.0.0.1:1/none", { max: 1, connect_timeout: 1 });
    metrics().registerDbCollectors(broken);
    try {
      const before = (await metrics().dbScrapeErrors.get()).values[0]?.value ?? 0;
      const text = await scrape();
      expect(sample(text, "authz_outbox_backlog_events")).toBeNaN();
      expect(sample(text, 'authz_invitations{status="pending"}')).toBeUndefined();
      // Counted during the scrape (metrics are read concurrently): visible from the next one.
      expect((await metrics().dbScrapeErrors.get()).values[0]?.value).toBe(before + 1);
    } finally {
      metrics().registerDbCollectors(t.sql);
      await broken.end({ timeout: 1 }).catch(() => {});
    }
  });

  it("README documents exactly the authz_* metrics the service exposes", async () => {
    const text = await scrape();
    const served = new Set(
      [...text.matchAll(/^# TYPE (authz_\w+) /gm)]
        .map((m) => m[1]!)
        .filter((n) => !n.startsWith("authz_process_")),
    );
    const readme = readFileSync(README, "utf8");
    const documented = new Set([...readme.matchAll(/^\| `(authz_\w+)`/gm)].map((m) => m[1]!));
    expect([...served].sort()).toEqual([...documented].sort());
  });
});
