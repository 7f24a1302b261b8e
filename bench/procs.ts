import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePort, waitFor } from "../src/local/ports.js";

export interface Child {
  url: string;
  pid: number;
  process: ChildProcess;
  /** Last lines of stderr, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** `node --import tsx <script>` on a free loopback port; resolves when `readyPath` answers 200. */
export function startNode(
  script: string,
  env: Record<string, string>,
  readyPath: string,
  timeoutMs: number,
): Promise<Child> {
  return startProcess(["--import", "tsx", script], env, readyPath, timeoutMs);
}

/** `node <args…>` on a free loopback port (PORT, HOST); resolves when `readyPath` answers 200. */
export async function startProcess(
  args: string[],
  env: Record<string, string>,
  readyPath: string,
  timeoutMs: number,
): Promise<Child> {
  const script = args.at(-1) ?? "node";
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${script} exited: ${stderr}`);
        return (await fetch(`${url}${readyPath}`)).ok;
      },
      timeoutMs,
      script,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { url, pid: child.pid!, process: child, tail: () => stderr, stop };
}

let clkTck = 0;
function ticksPerSecond(): number {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcSample {
  at: number;
  /** user + system CPU seconds so far. */
  cpuS: number;
  rssMb: number;
}

/** One reading of /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmRSS); null off Linux. */
export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuS = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { at: performance.now(), cpuS, rssMb: rss ? Number(rss[1]) / 1024 : Number.NaN };
  } catch {
    return null;
  }
}

export interface ProcUsage {
  /** user + system CPU seconds used over the window. */
  cpuS: number;
  cpuPercentOfOneCore: number;
  rssMbAvg: number;
  rssMbPeak: number;
  rssMbBefore: number;
  samples: number;
}

/** Sample a process every `everyMs` until stopped; summarise CPU over the window and RSS. */
export function watchProc(pid: number, everyMs = 250): { stop(): ProcUsage | null } {
  const first = sampleProc(pid);
  const samples: ProcSample[] = first ? [first] : [];
  const timer = setInterval(() => {
    const s = sampleProc(pid);
    if (s) samples.push(s);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = sampleProc(pid);
      if (last) samples.push(last);
      if (!first || samples.length < 2) return null;
      const end = samples[samples.length - 1]!;
      const rss = samples.map((s) => s.rssMb);
      return {
        cpuS: round(end.cpuS - first.cpuS, 3),
        cpuPercentOfOneCore: round((100 * (end.cpuS - first.cpuS)) / ((end.at - first.at) / 1000)),
        rssMbAvg: round(rss.reduce((a, b) => a + b, 0) / rss.length),
        rssMbPeak: round(Math.max(...rss)),
        rssMbBefore: round(first.rssMb),
        samples: samples.length,
      };
    },
  };
}

export const round = (x: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
