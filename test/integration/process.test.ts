import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The real process, as `npm run dev` runs it with nothing configured:
 * a local OpenFGA child on SQLite and an embedded PGlite under DATA_DIR.
 */

interface Proc {
  child: ChildProcess;
  lines: Record<string, any>[];
  exit: Promise<number | null>;
  waitFor(pred: (l: Record<string, any>) => boolean, ms?: number): Promise<Record<string, any>>;
}

function start(env: Record<string, string>): Proc {
  const base = { ...process.env };
  for (const k of ["DATABASE_URL", "OPENFGA_API_URL", "API_KEYS", "PORT"]) delete base[k];
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...base, LOG_LEVEL: "info", PORT: "0", METRICS_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, any>[] = [];
  const waiters: { pred: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] =
    [];
  let buf = "";
  const onData = (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
      let parsed: Record<string, any>;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { text: line };
      }
      lines.push(parsed);
      for (const w of [...waiters]) {
        if (w.pred(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    waitFor(pred, ms = 90_000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out; output:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`)),
          ms,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(fn: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("condition not met in time");
}

describe("the service process (embedded default)", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "authz-proc-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts with nothing configured, turns ready, and exits 0 on SIGTERM leaving no child", async () => {
    const p = start({ DATA_DIR: dataDir });
    const fga = await p.waitFor((l) => l.msg === "started local OpenFGA");
    const ready = await p.waitFor((l) => l.msg === "ready");
    const boot = p.lines.find((l) => l.msg === "engine bootstrapped")!;
    expect(boot).toMatchObject({ createdStore: true, wroteModel: true });
    const res = await fetch(`${ready.url}/readyz`);
    expect(res.status).toBe(200);
    const key = p.lines
      .find((l) => typeof l.text === "string" && l.text.startsWith("local API key"))
      ?.text.split(": ")[1];
    expect(key).toMatch(/^azs_/);
    const decision = await fetch(`${ready.url}/access/v1/evaluation`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        subject: { type: "user", id: "a" },
        action: { name: "can_view" },
        resource: { type: "park", id: "p" },
      }),
    });
    expect(decision.status).not.toBe(401);
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
    expect(alive(fga.pid)).toBe(false);
  }, 180_000);

  it("restarts without a new store or model, and /readyz reflects a stopped OpenFGA", async () => {
    const p = start({ DATA_DIR: dataDir });
    const fga = await p.waitFor((l) => l.msg === "started local OpenFGA");
    const ready = await p.waitFor((l) => l.msg === "ready");
    expect(p.lines.find((l) => l.msg === "engine bootstrapped")).toMatchObject({
      createdStore: false,
      wroteModel: false,
    });
    process.kill(fga.pid, "SIGKILL");
    await eventually(async () => (await fetch(`${ready.url}/readyz`)).status === 503, 15_000);
    const body = await (await fetch(`${ready.url}/readyz`)).json();
    expect(body.checks.engine).toMatch(/unreachable/);
    expect(body.checks.database).toBe("ok");
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
  }, 180_000);

  it("exits 1 naming the variable when configuration is bad", async () => {
    const p = start({ DATA_DIR: dataDir, OPENFGA_TIMEOUT_MS: "soon" });
    expect(await p.exit).toBe(1);
    expect(p.lines.map((l) => l.text ?? "").join("\n")).toContain("OPENFGA_TIMEOUT_MS");
  }, 60_000);
});
