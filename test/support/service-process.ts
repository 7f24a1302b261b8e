import { type ChildProcess, spawn } from "node:child_process";
import { inject } from "vitest";
import { generateApiKey } from "../../src/http/auth.js";

export { cloneDatabase } from "./database.js";

/** The real service process (`node --import tsx src/main.ts`) on a database of its own. */
export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  key: string;
  dbName: string;
  /** Every output line (JSON where it parses). */
  lines: Record<string, any>[];
  exited(): boolean;
  stop(): Promise<void>;
}

export async function startServiceProcess(opts: {
  dbName: string;
  databaseUrl: string;
  env?: Record<string, string>;
}): Promise<ServiceProcess> {
  const { key, hash } = generateApiKey();
  const base = { ...process.env };
  for (const k of ["DATABASE_URL", "OPENFGA_API_URL", "API_KEYS", "PORT"]) delete base[k];
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...base,
      LOG_LEVEL: "info",
      PORT: "0",
      METRICS_PORT: "0",
      DATABASE_URL: opts.databaseUrl,
      OPENFGA_API_URL: inject("openfgaUrl"),
      OPENFGA_STORE_NAME: `proc-${opts.dbName}`,
      OPENFGA_TIMEOUT_MS: "5000",
      API_KEYS: `k:decide+manage:${hash}`,
      RECONCILE_INTERVAL_S: "0",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, any>[] = [];
  let buf = "";
  const onData = (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  let exitCode: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  const deadline = Date.now() + 90_000;
  let url: string | undefined;
  while (!url) {
    if (exitCode !== undefined || Date.now() > deadline)
      throw new Error(`service did not become ready:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
    url = lines.find((l) => l.msg === "ready")?.url;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    key,
    dbName: opts.dbName,
    lines,
    exited: () => exitCode !== undefined,
    async stop() {
      if (exitCode !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
