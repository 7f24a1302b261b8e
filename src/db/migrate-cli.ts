import { ConfigError, loadConfig } from "../config.js";
import { migrate } from "./migrate.js";
import { createDb } from "./pool.js";

/** `npm run migrate`: apply pending migrations to DATABASE_URL. */
try {
  const config = loadConfig(process.env);
  if (!config.DATABASE_URL)
    throw new ConfigError([{ variable: "DATABASE_URL", message: "required for migrate" }]);
  const sql = createDb({ url: config.DATABASE_URL, max: 1 });
  const res = await migrate(sql);
  process.stdout.write(
    `applied: ${res.applied.join(", ") || "none"}; already applied: ${res.skipped.length}\n`,
  );
  await sql.end();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
