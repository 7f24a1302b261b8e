import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { migrate } from "../db/migrate.js";
import { pingDb } from "../db/pool.js";
import { bootstrapEngine, DEFAULT_MODEL_FILE, loadModelFile } from "../engine/bootstrap.js";
import { recoverJournal } from "../engine-sync/journal.js";
import { reconcile } from "../engine-sync/reconcile.js";
import type { Tuple } from "../kernel/tuples.js";
import { bootstrapSysadmins } from "../modules/platform/service.js";
import type { Dependencies } from "./dependencies.js";

/**
 * The ordered start-up steps. Each runs until it succeeds, with backoff
 * (a dependency may come up after the service), unless the service stops;
 * readiness turns true item by item as the steps pass, and the model item
 * last, when every step is done.
 */
export interface Step {
  name: string;
  /** false: a failure stops the start-up (a bad file is not going to heal). */
  retry?: boolean;
  run(): Promise<void>;
}

export function startupSteps({ deps, readiness }: Dependencies): Step[] {
  const { config, log, engine } = deps;
  const management = deps.managementEnabled;
  let model: Awaited<ReturnType<typeof loadModelFile>>;
  let tuples: Tuple[] = [];
  const steps: (Step | false)[] = [
    management && {
      name: "database",
      async run() {
        await pingDb(deps.sql);
        await migrate(deps.sql);
        readiness.database = true;
      },
    },
    {
      name: "model file",
      async run() {
        model = await loadModelFile(config.MODEL_FILE ?? DEFAULT_MODEL_FILE);
      },
    },
    {
      name: "engine bootstrap",
      async run() {
        const res = await bootstrapEngine(engine, {
          storeName: config.OPENFGA_STORE_NAME,
          storeId: config.OPENFGA_STORE_ID,
          modelId: config.OPENFGA_MODEL_ID,
          model,
        });
        readiness.engine = true;
        log.info(res, "engine bootstrapped");
      },
    },
    Boolean(config.TUPLES_FILE) && {
      name: "tuples file",
      retry: false,
      async run() {
        tuples = await loadTuplesFile(config.TUPLES_FILE!);
      },
    },
    Boolean(config.TUPLES_FILE) && {
      name: "tuples write",
      async run() {
        await engine.write({ writes: tuples, deletes: [] });
        log.info({ count: tuples.length }, "loaded tuples");
      },
    },
    management && {
      name: "bootstrap sysadmins",
      run: () => bootstrapSysadmins(deps, config.BOOTSTRAP_SYSADMINS),
    },
    // A crash between an engine write and its commit leaves drift: repair it
    // before serving (R-G3). With the journal that means only the tuples of
    // changes left in flight (cheap at any store size); without it (PGlite)
    // the whole store is compared; the full comparison also runs on its schedule.
    management &&
      Boolean(deps.journalSql) && {
        name: "journal recovery",
        async run() {
          const recovered = await recoverJournal(deps);
          if (recovered.entries) log.warn(recovered, "recovered engine writes left in flight");
        },
      },
    management &&
      !deps.journalSql && {
        name: "reconcile",
        run: () => repairDrift(deps, "at start"),
      },
  ];
  return steps.filter((s): s is Step => s !== false);
}

/** Run the steps in order, each retried (250 ms doubling to 10 s) until it passes or `stopped()`. */
export async function runSteps(steps: Step[], log: Logger, stopped: () => boolean): Promise<void> {
  for (const step of steps) {
    let delay = 250;
    for (;;) {
      try {
        await step.run();
        break;
      } catch (err) {
        if (stopped() || step.retry === false) throw err;
        log.warn({ err: (err as Error).message, retryInMs: delay }, `${step.name} failed; retrying`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }
}

/** Compare the whole store with what the rows imply and repair it (R-G3). */
export async function repairDrift(deps: Dependencies["deps"], when: string): Promise<void> {
  const report = await reconcile(deps, { repair: true });
  if (report.repaired) {
    deps.log.warn(
      { missing: report.missing.length, extra: report.extra.length, when },
      "repaired engine drift",
    );
  }
}

/** TUPLES_FILE: a JSON or YAML list of {user, relation, object[, condition]}. */
export async function loadTuplesFile(file: string): Promise<Tuple[]> {
  const text = await readFile(file, "utf8");
  const data = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  const list = Array.isArray(data) ? data : (data?.tuples ?? []);
  return (list as Tuple[]).map((t) => {
    if (!t?.user || !t?.relation || !t?.object) throw new Error(`bad tuple in ${file}: ${JSON.stringify(t)}`);
    return t;
  });
}
