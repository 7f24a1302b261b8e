import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookWorker } from "../../src/modules/invitations/worker.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg, emailOf } from "../support/factories.js";
import { inviteMember } from "../support/invitation-factories.js";

const SECRET = "test-webhook-secret-0123456789";

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  status: number;
}

/** A local receiver that answers 500 while `down` is true. */
async function receiver() {
  const log: Received[] = [];
  const state = { down: true };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const status = state.down ? 500 : 204;
      log.push({
        id: String(req.headers["webhook-id"]),
        timestamp: String(req.headers["webhook-timestamp"]),
        signature: String(req.headers["webhook-signature"]),
        body,
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, log, state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function validSignature(r: Received): boolean {
  const expected = Buffer.from(
    `sha256=${createHmac("sha256", SECRET).update(`${r.timestamp}.${r.body}`).digest("hex")}`,
  );
  const got = Buffer.from(r.signature);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

async function until(what: string, fn: () => Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("R-I10 webhook delivery of invitation events", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { OPENFGA_TIMEOUT_MS: "5000" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("R-I10 a receiver down for the first deliveries gets every event by id, signed, in order per invitation, across a worker restart", async () => {
    const rx = await receiver();
    const opts = {
      url: rx.url,
      secret: SECRET,
      pollMs: 30,
      baseDelayMs: 40,
      maxDelayMs: 200,
      expirySweepMs: 0,
    };
    try {
      const org = await createOrg(t);
      const as = { actor: org.admin, email: emailOf(org.admin) };
      const a = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "member" });
      const b = await inviteMember(t, { organizationId: org.id, inviter: org.admin, role: "external" });
      expect((await t.json("POST", `/v1/invitations/${a.invitationId}/resend`, as)).status).toBe(200);
      expect((await t.json("POST", `/v1/invitations/${a.invitationId}/revoke`, as)).status).toBe(200);

      // The receiver is down: the first worker only fails, then stops (a restart).
      const first = startWebhookWorker(t.deps, opts);
      await until("failed attempts", async () => rx.log.length >= 3);
      await first.stop();
      const pendingRows = await t.sql`select 1 from outbox where delivered_at is null`;
      expect(pendingRows).toHaveLength(4);
      // In order per invitation: nothing after an undelivered event of the same invitation was tried.
      const tried = new Set(
        rx.log.map((r) => JSON.parse(r.body).data.invitation.id + JSON.parse(r.body).type),
      );
      expect(tried.has(`${a.invitationId}invitation.resent`)).toBe(false);

      rx.state.down = false;
      const second = startWebhookWorker(t.deps, opts);
      await until(
        "all delivered",
        async () => (await t.sql`select 1 from outbox where delivered_at is null`).length === 0,
      );
      await second.stop();

      const outbox = await t.sql`select event_id, aggregate_id, topic from outbox order by id`;
      const ok = rx.log.filter((r) => r.status === 204);
      expect(new Set(ok.map((r) => r.id))).toEqual(new Set(outbox.map((o) => o.event_id)));
      expect(rx.log.every(validSignature)).toBe(true);
      for (const r of ok) {
        const body = JSON.parse(r.body);
        expect(body.id).toBe(r.id);
        expect(Math.abs(Number(r.timestamp) - Date.now() / 1000)).toBeLessThan(120);
        expect(r.body).not.toContain(a.token);
        expect(r.body).not.toContain(b.token);
      }
      const orderOf = (agg: string) =>
        ok
          .map((r) => JSON.parse(r.body))
          .filter((e) => e.data.invitation.id === agg)
          .map((e) => e.type);
      expect(orderOf(a.invitationId)).toEqual([
        "invitation.created",
        "invitation.resent",
        "invitation.revoked",
      ]);
      expect(orderOf(b.invitationId)).toEqual(["invitation.created"]);
      const [failed] = await t.sql`select max(attempts)::int as n from outbox`;
      expect(failed!.n).toBeGreaterThan(1);
      // A tampered body does not verify.
      expect(validSignature({ ...ok[0]!, body: `${ok[0]!.body} ` })).toBe(false);
    } finally {
      await rx.close();
    }
  });
});
