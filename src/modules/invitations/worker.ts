import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import type { Sql } from "../../db/pool.js";
import type { Deps } from "../../kernel/deps.js";
import { expireDue } from "./lifecycle.js";
import { claimDueEvents, markDelivered, markFailed } from "./repo.js";

/**
 * Outbox delivery (R-I10). State lives only in the `outbox` table, so a
 * restart loses nothing: an event is delivered when a 2xx came back and
 * `delivered_at` was committed (at least once: a crash between the two sends
 * it again; receivers dedupe by the event id header). Claims use
 * `for update skip locked`, so several replicas share the work, and an event is
 * never claimed while an earlier event of the same invitation is undelivered
 * (in order per invitation). Failures back off exponentially.
 */
export interface WebhookOptions {
  url: string;
  secret: string;
  pollMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  batch?: number;
  /** Also mark pending invitations past expiry (emitting `expired`) every this many ms; 0 = never. */
  expirySweepMs?: number;
}

export interface WebhookWorker {
  stop(): Promise<void>;
  /** One pass now (tests): returns how many events were delivered. */
  runOnce(): Promise<number>;
}

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function backoffMs(attempts: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempts - 1));
}

async function post(o: Required<WebhookOptions>, eventId: string, body: string): Promise<string | null> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const res = await fetch(o.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": eventId,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature(o.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    await res.arrayBuffer().catch(() => {});
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    return (err as Error).message.slice(0, 200);
  }
}

export async function deliverBatch(
  sql: Sql,
  o: Required<WebhookOptions>,
  log: Logger,
  stopping: () => boolean = () => false,
): Promise<number> {
  let delivered = 0;
  await sql.begin(async (tx) => {
    const rows = await claimDueEvents(tx, o.batch);
    for (const r of rows) {
      // On shutdown, leave the rest claimed-but-untouched: the commit releases them for the next start.
      if (stopping()) break;
      const body = JSON.stringify({
        id: r.event_id,
        type: r.topic,
        createdAt: (r.created_at as Date).toISOString(),
        data: r.payload,
      });
      const error = await post(o, r.event_id, body);
      if (error === null) {
        await markDelivered(tx, r.id);
        delivered++;
      } else {
        const delay = backoffMs(r.attempts + 1, o.baseDelayMs, o.maxDelayMs);
        await markFailed(tx, r.id, error, delay);
        log.warn(
          { eventId: r.event_id, attempts: r.attempts + 1, retryInMs: delay, error },
          "webhook delivery failed",
        );
      }
    }
  });
  return delivered;
}

/**
 * One delivery pass: the expiry sweep when it is due, then batches until the
 * outbox has nothing due (or the service stops). The service runs it as a
 * periodic job (src/startup/jobs.ts); startWebhookWorker runs it on its own.
 */
export function webhookPass(deps: Deps, opts: WebhookOptions) {
  const o: Required<WebhookOptions> = {
    pollMs: 1000,
    baseDelayMs: 1000,
    maxDelayMs: 5 * 60_000,
    timeoutMs: 5000,
    batch: 20,
    expirySweepMs: 60_000,
    ...opts,
  };
  const log = deps.log.child({ component: "webhook" });
  let lastSweep = 0;
  const pass = async (stopping: () => boolean = () => false): Promise<number> => {
    if (o.expirySweepMs > 0 && Date.now() - lastSweep >= o.expirySweepMs) {
      lastSweep = Date.now();
      await expireDue(deps).catch((err) => log.warn({ err: (err as Error).message }, "expiry sweep failed"));
    }
    let total = 0;
    for (;;) {
      const n = await deliverBatch(deps.sql, o, log, stopping);
      total += n;
      if (n < o.batch || stopping()) return total;
    }
  };
  return { options: o, log, pass };
}

export function startWebhookWorker(deps: Deps, opts: WebhookOptions): WebhookWorker {
  const { options: o, log, pass } = webhookPass(deps, opts);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    running = pass(() => stopped)
      .catch((err) => log.warn({ err: (err as Error).message }, "webhook pass failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, o.pollMs);
      });
  };
  loop();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    runOnce: () => pass(),
  };
}
