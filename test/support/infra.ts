import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { findOpenFgaBinary, type LocalOpenFga, startLocalOpenFga } from "../../src/local/openfga.js";
import { freePort, waitFor } from "../../src/local/ports.js";

const run = promisify(execFile);

export interface Infra {
  openfgaUrl: string;
  /** Server URL without a database name; tests create databases on it. */
  databaseUrl: string;
  /** How each was found, for the test log. */
  source: { openfga: string; database: string };
  stop(): Promise<void>;
}

async function pgAnswers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

async function containerEngine(): Promise<typeof import("testcontainers") | undefined> {
  try {
    const tc = await import("testcontainers");
    await tc.getContainerRuntimeClient();
    return tc;
  } catch {
    return undefined;
  }
}

/** Debian keeps initdb/pg_ctl off the PATH, under /usr/lib/postgresql/<major>/bin. */
async function pgBin(name: string): Promise<string> {
  try {
    const { stdout } = await run("sh", [
      "-c",
      `command -v ${name} || ls -d /usr/lib/postgresql/*/bin/${name} | sort -V | tail -n 1`,
    ]);
    const found = stdout.trim().split("\n")[0];
    if (found) return found;
  } catch {}
  throw new Error(`${name} not found: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL`);
}

/** A throwaway cluster with initdb/pg_ctl in a temp folder (last resort). */
async function tempCluster(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "authz-pg-"));
  const port = await freePort();
  const asUser = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asUser.length) await run("chown", ["postgres", dir]);
  const cmd = (bin: string, args: string[]) =>
    asUser.length ? run(asUser[0]!, [...asUser.slice(1), bin, ...args]) : run(bin, args);
  const [initdb, pgCtl] = [await pgBin("initdb"), await pgBin("pg_ctl")];
  await cmd(initdb, ["-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  await cmd(pgCtl, ["-D", dir, "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "-w", "start"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor(() => pgAnswers(url), 20_000, "temporary PostgreSQL");
  return {
    url,
    stop: async () => {
      await cmd(pgCtl, ["-D", dir, "-m", "fast", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Find the test infrastructure, in this order: OPENFGA_API_URL / DATABASE_URL
 * from the environment; a container engine via testcontainers; local processes
 * started here (the pinned OpenFGA binary on a PostgreSQL datastore;
 * PostgreSQL at 127.0.0.1:5432 when it answers, else a temporary cluster).
 */
export async function startInfra(): Promise<Infra> {
  const stops: (() => Promise<void>)[] = [];
  const source = { openfga: "", database: "" };
  let databaseUrl = process.env.DATABASE_URL;
  let openfgaUrl = process.env.OPENFGA_API_URL;
  const tc = !databaseUrl || !openfgaUrl ? await containerEngine() : undefined;

  if (databaseUrl) source.database = "DATABASE_URL";
  else if (tc) {
    const pg = await new tc.GenericContainer("postgres:17")
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
      .withExposedPorts(5432)
      .withWaitStrategy(tc.Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    databaseUrl = `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`;
    stops.push(async () => void (await pg.stop()));
    source.database = "testcontainers";
  } else if (await pgAnswers("postgres://postgres@127.0.0.1:5432/postgres")) {
    databaseUrl = "postgres://postgres@127.0.0.1:5432/postgres";
    source.database = "local 127.0.0.1:5432";
  } else {
    const c = await tempCluster();
    databaseUrl = c.url;
    stops.push(c.stop);
    source.database = "temporary initdb cluster";
  }

  if (openfgaUrl) source.openfga = "OPENFGA_API_URL";
  else if (tc) {
    const fga = await new tc.GenericContainer("openfga/openfga:v1.22.1")
      .withCommand(["run", "--playground-enabled=false"])
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forHttp("/healthz", 8080))
      .start();
    openfgaUrl = `http://${fga.getHost()}:${fga.getMappedPort(8080)}`;
    stops.push(async () => void (await fga.stop()));
    source.openfga = "testcontainers";
  } else {
    // OpenFGA on a PostgreSQL datastore (as in production), in its own database.
    const dbName = `openfga_test_${process.pid}`;
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${dbName}`);
    await admin.unsafe(`create database ${dbName}`);
    await admin.end();
    const u = new URL(databaseUrl);
    u.pathname = `/${dbName}`;
    u.searchParams.set("sslmode", "disable");
    const bin = await findOpenFgaBinary(process.env.OPENFGA_BIN);
    // A smaller datastore pool than production's (later flags win): the test
    // suites share one PostgreSQL (often the machine's, max_connections 100)
    // with their own pools, and an engine holding 64 would crowd them out.
    const local: LocalOpenFga = await startLocalOpenFga({
      bin,
      engine: "postgres",
      uri: u.toString(),
      extraArgs: ["--datastore-max-open-conns=24", "--datastore-max-idle-conns=8"],
    });
    openfgaUrl = local.url;
    stops.push(async () => {
      await local.stop();
      const a = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
      await a.end();
    });
    source.openfga = "local openfga process (postgres datastore)";
  }

  return {
    openfgaUrl,
    databaseUrl,
    source,
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
    },
  };
}
