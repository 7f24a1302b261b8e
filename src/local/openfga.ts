import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, waitFor } from "./ports.js";

const run = promisify(execFile);

/** The OpenFGA server version this project is tested against. */
export const OPENFGA_VERSION = "v1.22.1";
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const TOOLS_BIN = path.join(PROJECT_ROOT, ".tools", "bin");

async function onPath(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await run("sh", ["-c", `command -v ${name}`]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The OpenFGA binary: OPENFGA_BIN, then the ignored tools folder, then PATH,
 * else built once with `go install` at the pinned version when Go exists.
 */
export async function findOpenFgaBinary(
  explicit?: string,
  log: (m: string) => void = () => {},
): Promise<string> {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`OPENFGA_BIN=${explicit} does not exist`);
    return explicit;
  }
  const local = path.join(TOOLS_BIN, "openfga");
  if (existsSync(local)) return local;
  const fromPath = await onPath("openfga");
  if (fromPath) return fromPath;
  if (await onPath("go")) {
    log(`building OpenFGA ${OPENFGA_VERSION} with go install (once, into .tools/bin)…`);
    await mkdir(TOOLS_BIN, { recursive: true });
    await run("go", ["install", `github.com/openfga/openfga/cmd/openfga@${OPENFGA_VERSION}`], {
      env: { ...process.env, GOBIN: TOOLS_BIN, CGO_ENABLED: "0" },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (existsSync(local)) return local;
  }
  throw new Error(
    "No OpenFGA server available. Do one of:\n" +
      "  1. set OPENFGA_API_URL to a running OpenFGA server;\n" +
      "  2. set OPENFGA_BIN to an openfga binary, or put `openfga` on the PATH;\n" +
      `  3. install Go (>= 1.25) so the binary can be built with go install (${OPENFGA_VERSION}).`,
  );
}

/**
 * OpenFGA's own limits, so it cannot wedge under the sidecar's maximum load
 * (ENGINE_MAX_IN_FLIGHT check units, default 32): a datastore pool above that,
 * and bounded datastore reads per query (its defaults are unbounded, and at
 * 200 connections 24k goroutines once queued on its 30-connection pool).
 * deploy/ sets the same values as OPENFGA_* variables.
 */
export const OPENFGA_LIMIT_FLAGS = [
  "--datastore-max-open-conns=64",
  "--datastore-max-idle-conns=32",
  "--max-concurrent-reads-for-check=16",
  "--max-concurrent-reads-for-list-objects=16",
  "--max-concurrent-reads-for-list-users=16",
  "--max-concurrent-checks-per-batch-check=16",
];

export interface LocalOpenFga {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface LocalOpenFgaOptions {
  bin: string;
  engine: "sqlite" | "postgres" | "memory";
  uri?: string;
  log?: (m: string) => void;
  /** Extra `openfga run` flags (e.g. a low `--listObjects-max-results` in tests). */
  extraArgs?: string[];
}

/** Migrate the datastore, then run `openfga run` on free loopback ports as a child process. */
export async function startLocalOpenFga(opts: LocalOpenFgaOptions): Promise<LocalOpenFga> {
  const ds = ["--datastore-engine", opts.engine, ...(opts.uri ? ["--datastore-uri", opts.uri] : [])];
  if (opts.engine !== "memory") {
    if (opts.engine === "sqlite" && opts.uri) {
      await mkdir(path.dirname(opts.uri.replace(/^file:/, "").split("?")[0]!), { recursive: true });
    }
    await run(opts.bin, ["migrate", ...ds], { maxBuffer: 16 * 1024 * 1024 });
  }
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const child = spawn(
    opts.bin,
    [
      "run",
      ...ds,
      "--http-addr",
      `127.0.0.1:${httpPort}`,
      "--grpc-addr",
      `127.0.0.1:${grpcPort}`,
      "--playground-enabled=false",
      "--metrics-enabled=false",
      "--log-level",
      "warn",
      "--log-format",
      "json",
      ...OPENFGA_LIMIT_FLAGS,
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`openfga exited: ${stderr}`);
        const r = await fetch(`${url}/healthz`);
        return r.ok;
      },
      30_000,
      "OpenFGA",
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  opts.log?.(`OpenFGA ${opts.engine} at ${url}`);
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
