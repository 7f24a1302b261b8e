import { pingDb } from "../db/pool.js";
import { recoverJournal } from "../engine-sync/journal.js";
import { expireDue } from "../modules/invitations/lifecycle.js";
import { webhookPass } from "../modules/invitations/worker.js";
import type { Dependencies } from "./dependencies.js";
import { repairDrift } from "./steps.js";

/**
 * The service's periodic jobs, in one table with one policy: a job runs every
 * `everyMs` after its previous run ended (never two at once), from the start
 * (`from: "start"`) or once the start-up steps are done (`"ready"`);
 * `whileReady` jobs skip a turn while /readyz says not ready. A failed run is
 * logged at warn with the job's name and tried again next turn. stop() clears
 * every timer and waits for the runs in flight.
 */
export interface Job {
  name: string;
  everyMs: number;
  from: "start" | "ready";
  whileReady?: boolean;
  /** The first run at once instead of after `everyMs`. */
  immediate?: boolean;
  run(stopping: () => boolean): Promise<unknown>;
}

export function periodicJobs({ deps, readiness }: Dependencies): Job[] {
  const { config, log, engine } = deps;
  const management = deps.managementEnabled;
  const webhook =
    management && config.WEBHOOK_URL && config.WEBHOOK_SECRET
      ? webhookPass(deps, { url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET, expirySweepMs: 0 })
      : undefined;
  if (management && config.WEBHOOK_URL && !config.WEBHOOK_SECRET) {
    log.error("WEBHOOK_URL is set without WEBHOOK_SECRET: invitation events stay in the outbox");
  }
  const jobs: (Job | false | undefined)[] = [
    // Keep /readyz honest after start: a dependency that goes away turns it 503.
    {
      name: "readiness probe",
      everyMs: 2000,
      from: "start",
      async run() {
        if (management) {
          readiness.database = await pingDb(deps.sql).then(
            () => true as const,
            (e: Error) => `unreachable: ${e.message}`,
          );
        }
        if (readiness.model === true) {
          readiness.engine = await engine.ping().then(
            () => true as const,
            () => "unreachable",
          );
        }
      },
    },
    management &&
      config.RECONCILE_INTERVAL_S > 0 && {
        name: "reconcile",
        everyMs: config.RECONCILE_INTERVAL_S * 1000,
        from: "start",
        whileReady: true,
        run: () => repairDrift(deps, "scheduled"),
      },
    // Journal rows older than any change can take are left-overs of a failed or
    // crashed change (e.g. on another replica): repair their tuples soon.
    management &&
      Boolean(deps.journalSql) && {
        name: "journal recovery",
        everyMs: 10_000,
        from: "start",
        whileReady: true,
        async run() {
          const r = await recoverJournal(deps, 30_000);
          if (r.entries) log.warn(r, "recovered engine writes left in flight");
        },
      },
    // Mark pending invitations past their expiry, so each `expired` event lands
    // in the outbox (R-I4, R-I10) even if nobody touches them.
    management && {
      name: "expiry sweep",
      everyMs: 60_000,
      from: "ready",
      // With a webhook, the first sweep comes with the first delivery pass.
      immediate: Boolean(webhook),
      run: () => expireDue(deps),
    },
    // R-I10: deliver invitation events from the outbox.
    webhook && {
      name: "webhook",
      everyMs: webhook.options.pollMs,
      from: "ready",
      immediate: true,
      run: (stopping) => webhook.pass(stopping),
    },
  ];
  return jobs.filter((j): j is Job => Boolean(j));
}

/** Schedules jobs by the policy above. */
export class JobRunner {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly deps: Dependencies,
    private readonly jobs: Job[],
  ) {}

  /** Begin the jobs of one phase (`start` at once, `ready` after the start-up steps). */
  begin(phase: Job["from"]): void {
    for (const job of this.jobs) if (job.from === phase) this.schedule(job, job.immediate ? 0 : job.everyMs);
  }

  private schedule(job: Job, inMs = job.everyMs): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      if (job.whileReady && !this.deps.readiness.ready) return this.schedule(job);
      const run = job
        .run(() => this.stopped)
        .catch((err) =>
          this.deps.deps.log.warn({ job: job.name, err: (err as Error).message }, `${job.name} failed`),
        )
        .finally(() => {
          this.running.delete(run);
          this.schedule(job);
        });
      this.running.add(run);
    }, inMs);
    timer.unref();
    this.timers.add(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.running);
  }
}
