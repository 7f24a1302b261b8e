import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOpenFgaBinary, type LocalOpenFga, startLocalOpenFga } from "../../src/local/openfga.js";
import { freePort, waitFor } from "../../src/local/ports.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg, userId } from "../support/factories.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ROUTES_FILE = path.join(ROOT, "test/fixtures/gateway/routes.yaml");
const TEMPLATE = path.join(ROOT, "deploy/nginx/forward-auth.conf.template");

function nginxBinary(): string {
  try {
    return execFileSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).trim();
  } catch {
    if (existsSync("/usr/sbin/nginx")) return "/usr/sbin/nginx";
    throw new Error("nginx not found: apt-get install nginx (.ci/run does)");
  }
}

/** nginx as a foreground child with every path (config, pid, logs, temp) under its own folder. */
async function startNginx(vars: Record<string, string>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "authz-nginx-"));
  const server = (await readFile(TEMPLATE, "utf8")).replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`no value for \${${k}}`);
    return vars[k]!;
  });
  await writeFile(path.join(dir, "server.conf"), server);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${dir}/${t};`)
    .join("\n");
  await writeFile(
    path.join(dir, "nginx.conf"),
    `daemon off;\nmaster_process off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\n` +
      `events { worker_connections 64; }\nhttp {\n  access_log ${dir}/access.log;\n${temp}\n  include ${dir}/server.conf;\n}\n`,
  );
  const child: ChildProcess = spawn(
    nginxBinary(),
    ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const [host, port] = vars.LISTEN!.split(":");
  await waitFor(
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (child.exitCode !== null) reject(new Error(`nginx exited: ${stderr}`));
        const s = net.connect(Number(port), host!, () => {
          s.end();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      }),
    10_000,
    "nginx",
  );
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe("nginx auth_request in front of an upstream, asking the sidecar", () => {
  let fga: LocalOpenFga;
  let t: TestContext;
  let sidecar: http.Server;
  let upstream: http.Server;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let base = "";
  let sidecarUrl = "";
  let org: Awaited<ReturnType<typeof createOrg>>;
  const seen: string[] = [];

  beforeAll(async () => {
    // A dedicated OpenFGA, so the engine-down case can stop it.
    fga = await startLocalOpenFga({ bin: await findOpenFgaBinary(), engine: "memory" });
    t = await createTestContext({ openfgaUrl: fga.url, config: { ROUTES_FILE } });
    org = await createOrg(t);
    const sidecarPort = await freePort();
    sidecar = serve({ fetch: t.app.fetch, port: sidecarPort, hostname: "127.0.0.1" }) as http.Server;
    sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
    upstream = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end(`upstream ${req.method} ${req.url}`);
    });
    const upstreamPort = await freePort();
    await new Promise<void>((r) => upstream.listen(upstreamPort, "127.0.0.1", () => r()));
    const port = await freePort();
    nginx = await startNginx({
      LISTEN: `127.0.0.1:${port}`,
      UPSTREAM: `127.0.0.1:${upstreamPort}`,
      SIDECAR: `127.0.0.1:${sidecarPort}`,
      API_KEY: t.keys.decide,
      // Stands in for an authentication layer: the test client names the user.
      SUBJECT: "$http_x_test_user",
    });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await nginx?.stop();
    await new Promise((r) => upstream?.close(r));
    sidecar?.closeAllConnections?.();
    await new Promise((r) => sidecar?.close(r));
    await t?.close();
    await fga?.stop();
  });

  const call = (method: string, uri: string, user?: string) =>
    fetch(`${base}${uri}`, { method, headers: user ? { "x-test-user": user } : {} });

  it("allows: the sidecar says 200 and the request reaches the upstream", async () => {
    const res = await call("PUT", `/portfolios/${org.portfolioId}/settings?tab=2`, org.admin);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`upstream PUT /portfolios/${org.portfolioId}/settings?tab=2`);
  });

  it("denies with 403 and the upstream never sees the request", async () => {
    const before = seen.length;
    const res = await call("PUT", `/portfolios/${org.portfolioId}/settings`, userId("stranger"));
    expect(res.status).toBe(403);
    const noRoute = await call("GET", "/not/mapped", org.admin);
    expect(noRoute.status).toBe(403);
    expect(seen.length).toBe(before);
  });

  it("answers 401 when no user was authenticated, and a client cannot pick the checked URI", async () => {
    const before = seen.length;
    const res = await call("GET", `/portfolios/${org.portfolioId}`);
    expect(res.status).toBe(401);
    const spoof = await fetch(`${base}/not/mapped`, {
      headers: { "x-test-user": org.admin, "x-original-uri": `/portfolios/${org.portfolioId}` },
    });
    expect(spoof.status).toBe(403);
    expect(seen.length).toBe(before);
  });

  it("fails closed when the engine is down: 500 from nginx, nothing reaches the upstream", async () => {
    const before = seen.length;
    await fga.stop();
    const res = await call("PUT", `/portfolios/${org.portfolioId}/settings`, org.admin);
    expect(res.status).toBe(500);
    expect(seen.length).toBe(before);
    // The 500 is nginx's rendering of the sidecar's 503, not a broken set-up.
    const direct = await fetch(`${sidecarUrl}/v1/forward-auth`, {
      headers: {
        authorization: `Bearer ${t.keys.decide}`,
        "x-forwarded-user": org.admin,
        "x-original-method": "PUT",
        "x-original-uri": `/portfolios/${org.portfolioId}/settings`,
      },
    });
    expect(direct.status).toBe(503);
    expect(((await direct.json()) as { code: string }).code).toBe("engine-unavailable");
  });
});
