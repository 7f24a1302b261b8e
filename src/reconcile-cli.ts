import { ConfigError, loadConfig } from "./config.js";
import { createDb } from "./db/pool.js";
import { bootstrapEngine, DEFAULT_MODEL_FILE, loadModelFile } from "./engine/bootstrap.js";
import { Engine } from "./engine/client.js";
import { describeDrift, reconcile } from "./engine-sync/reconcile.js";
import type { Deps } from "./kernel/deps.js";
import { createLogger } from "./logger.js";

/**
 * `npm run reconcile [-- --repair]`: compare the tuples the database implies
 * with the engine's (R-G3), print the drift and, with --repair, fix it.
 * Exit codes: 0 no drift remains; 2 drift found and not repaired (or still
 * there after the repair); 1 the check itself failed (config, database, engine).
 * Uses DATABASE_URL, OPENFGA_API_URL(/_TOKEN), OPENFGA_STORE_NAME or the
 * pinned OPENFGA_STORE_ID + OPENFGA_MODEL_ID (as the service does).
 */
const USAGE = "usage: npm run reconcile [-- --repair]\n";

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== "--repair");
  if (unknown.length) {
    process.stderr.write(`unknown argument(s): ${unknown.join(" ")}\n${USAGE}`);
    return 1;
  }
  const repair = argv.includes("--repair");
  const config = loadConfig(process.env);
  const missing = (["DATABASE_URL", "OPENFGA_API_URL"] as const).filter((k) => !config[k]);
  if (missing.length) {
    throw new ConfigError(missing.map((variable) => ({ variable, message: "required for reconcile" })));
  }
  const sql = createDb({ url: config.DATABASE_URL!, max: 2 });
  const engine = Engine.fromConfig(config);
  try {
    await bootstrapEngine(engine, {
      storeName: config.OPENFGA_STORE_NAME,
      storeId: config.OPENFGA_STORE_ID,
      modelId: config.OPENFGA_MODEL_ID,
      model: await loadModelFile(config.MODEL_FILE ?? DEFAULT_MODEL_FILE),
    });
    const deps: Deps = {
      config,
      log: createLogger("silent"),
      sql,
      engine,
      managementEnabled: true,
      now: () => new Date(),
    };
    const report = await reconcile(deps, { repair });
    const out = process.stdout;
    for (const line of describeDrift(report)) out.write(`${line}\n`);
    const drift = report.missing.length + report.extra.length;
    out.write(
      `store ${engine.storeId}: ${report.desired} tuples implied by the database, ${report.actual} in the engine; ` +
        `${report.missing.length} missing, ${report.extra.length} extra\n`,
    );
    if (drift === 0) return 0;
    if (!repair) {
      out.write("drift found; run with --repair to fix it\n");
      return 2;
    }
    const after = await reconcile(deps, { repair: false });
    const left = after.missing.length + after.extra.length;
    out.write(
      left === 0 ? `repaired ${drift} tuple(s); no drift remains\n` : `${left} tuple(s) still drift\n`,
    );
    return left === 0 ? 0 : 2;
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`reconcile failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
