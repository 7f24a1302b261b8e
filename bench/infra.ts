import postgres from "postgres";
import { findOpenFgaBinary, startLocalOpenFga } from "../src/local/openfga.js";

export interface BenchInfra {
  openfgaUrl: string;
  /** The benchmark's own database (created here, dropped at the end). */
  databaseUrl: string;
  source: { openfga: string; database: string };
  /** pid of the OpenFGA server when started here (to sample its CPU). */
  openfgaPid?: number;
  stop(): Promise<void>;
}

const dbUrl = (server: string, name: string) => {
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.toString();
};

/**
 * OPENFGA_API_URL / DATABASE_URL when set (DATABASE_URL names a server: a
 * bench database is created on it); otherwise PostgreSQL at 127.0.0.1:5432 and
 * a local OpenFGA on a PostgreSQL datastore in its own database.
 */
export async function startBenchInfra(env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<BenchInfra> {
  const server = env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const benchDb = `authz_bench_${tag}`;
  const fgaDb = `authz_bench_fga_${tag}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  const stops: (() => Promise<void>)[] = [];
  const source = { openfga: "", database: env.DATABASE_URL ? "DATABASE_URL" : "local 127.0.0.1:5432" };
  try {
    await admin.unsafe(`create database ${benchDb}`);
    stops.push(async () => void (await admin.unsafe(`drop database if exists ${benchDb} with (force)`)));
    let openfgaUrl = env.OPENFGA_API_URL;
    let openfgaPid: number | undefined;
    if (openfgaUrl) source.openfga = "OPENFGA_API_URL";
    else {
      await admin.unsafe(`create database ${fgaDb}`);
      stops.push(async () => void (await admin.unsafe(`drop database if exists ${fgaDb} with (force)`)));
      const u = new URL(dbUrl(server, fgaDb));
      u.searchParams.set("sslmode", "disable");
      const fga = await startLocalOpenFga({
        bin: await findOpenFgaBinary(env.OPENFGA_BIN, log),
        engine: "postgres",
        uri: u.toString(),
        log,
      });
      stops.push(fga.stop);
      openfgaUrl = fga.url;
      openfgaPid = fga.process.pid;
      source.openfga = "local openfga process (postgres datastore)";
    }
    return {
      openfgaUrl,
      databaseUrl: dbUrl(server, benchDb),
      source,
      openfgaPid,
      async stop() {
        for (const s of stops.reverse()) await s().catch((e) => log(`cleanup: ${(e as Error).message}`));
        await admin.end({ timeout: 2 }).catch(() => {});
      },
    };
  } catch (err) {
    for (const s of stops.reverse()) await s().catch(() => {});
    await admin.end({ timeout: 2 }).catch(() => {});
    throw err;
  }
}
