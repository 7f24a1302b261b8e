import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/local/ports.js";
import { type Child, startProcess } from "./procs.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** A sidecar process as production runs it (`node dist/main.js`), with where its metrics are. */
export interface Sidecar extends Child {
  name: string;
  /** DECISION_CACHE_SIZE given to it (undefined: its default). */
  cacheSize: number | undefined;
  /** Where to read /metrics: its own listener first (METRICS_PORT), then the API port. */
  metricsUrls: string[];
}

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * dist/ was built after the last change of src/ and of the build
 * configuration (tsc rewrites every output on each build, so dist/main.js
 * carries the time of the last build).
 */
export function distUpToDate(): boolean {
  if (!existsSync(MAIN)) return false;
  const inputs = Math.max(
    newest(path.join(ROOT, "src")),
    ...["tsconfig.json", "tsconfig.build.json", "package.json"].map(
      (f) => statSync(path.join(ROOT, f)).mtimeMs,
    ),
  );
  return statSync(MAIN).mtimeMs > inputs;
}

/** `npm run build` (tsc into dist/); rejects with the compiler's output when it fails. */
export function buildDist(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-8000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve(Math.round(performance.now() - t0))
        : reject(new Error(`npm run build failed (${code}):\n${out}`)),
    );
  });
}

export interface SidecarSpec {
  name: string;
  env: Record<string, string>;
  cacheSize?: number;
  timeoutMs: number;
}

/** Start `node dist/main.js` on free ports (API and METRICS_PORT) and wait for /readyz. */
export async function startSidecar(s: SidecarSpec): Promise<Sidecar> {
  if (!existsSync(MAIN)) throw new Error("dist/main.js is missing: run `npm run build`");
  const metricsPort = await freePort();
  const env = {
    ...s.env,
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: "127.0.0.1",
    ...(s.cacheSize !== undefined ? { DECISION_CACHE_SIZE: String(s.cacheSize) } : {}),
  };
  // BENCH_CPU_PROF=<dir>: each sidecar writes a V8 CPU profile there when it stops.
  const prof = process.env.BENCH_CPU_PROF;
  const args = prof
    ? [
        "--cpu-prof",
        `--cpu-prof-dir=${prof}`,
        `--cpu-prof-name=${s.name.replace(/\W+/g, "-")}.cpuprofile`,
        MAIN,
      ]
    : [MAIN];
  const child = await startProcess(args, env, "/readyz", s.timeoutMs);
  return {
    ...child,
    name: s.name,
    cacheSize: s.cacheSize,
    metricsUrls: [`http://127.0.0.1:${metricsPort}/metrics`, `${child.url}/metrics`],
  };
}
