import { execFile } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metrics } from "../../src/metrics.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { createOrg, userId } from "../support/factories.js";

const ROUTES_FILE = path.resolve(import.meta.dirname, "../fixtures/gateway/routes.yaml");
const BAD_ROUTES_FILE = path.resolve(import.meta.dirname, "../fixtures/gateway/bad-routes.yaml");
const ROOT = path.resolve(import.meta.dirname, "../..");

describe("gateway forward-auth (/v1/forward-auth)", () => {
  let t: TestContext;
  let org: Awaited<ReturnType<typeof createOrg>>;
  const stranger = userId("stranger");
  beforeAll(async () => {
    t = await createTestContext({ config: { ROUTES_FILE, FORWARD_AUTH_SUBJECT_HEADER: "x-auth-user" } });
    org = await createOrg(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const nginx = (
    user: string | undefined,
    method: string,
    uri: string,
    key: "decide" | "manage" = "decide",
  ) =>
    t.json("GET", "/v1/forward-auth", {
      key,
      headers: {
        ...(user ? { "x-auth-user": user } : {}),
        "x-original-method": method,
        "x-original-uri": uri,
      },
    });

  it("allows with 200 when the model allows the mapped action on the mapped resource", async () => {
    const res = await nginx(org.admin, "PUT", `/portfolios/${org.portfolioId}/settings?tab=1`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      decision: true,
      action: "can_configure_settings",
      resource: { type: "portfolio", id: org.portfolioId },
    });
  });

  it("denies with 403 when the model denies", async () => {
    const res = await nginx(stranger, "GET", `/portfolios/${org.portfolioId}`);
    expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
  });

  it("answers 401 without the subject header, 403 without a route or on an ambiguous path", async () => {
    const none = await nginx(undefined, "GET", `/portfolios/${org.portfolioId}`);
    expect([none.status, none.body.code]).toEqual([401, "subject-required"]);
    const bad = await nginx("bad user!", "GET", `/portfolios/${org.portfolioId}`);
    expect([bad.status, bad.body.code]).toEqual([401, "subject-invalid"]);
    const noRoute = await nginx(org.admin, "DELETE", `/portfolios/${org.portfolioId}`);
    expect([noRoute.status, noRoute.body.code]).toEqual([403, "no-route"]);
    const unsafe = await nginx(org.admin, "GET", `/portfolios/x/../${org.portfolioId}`);
    expect([unsafe.status, unsafe.body.code]).toEqual([403, "unsafe-path"]);
  });

  it("needs the original URI and a key with the decide scope", async () => {
    const noUri = await t.json("POST", "/v1/forward-auth", {
      key: "decide",
      headers: { "x-auth-user": org.admin },
    });
    expect([noUri.status, noUri.body.code]).toEqual([400, "original-uri-required"]);
    const scope = await nginx(org.admin, "GET", `/portfolios/${org.portfolioId}`, "manage");
    expect([scope.status, scope.body.code]).toEqual([403, "insufficient-scope"]);
    const noKey = await t.json("GET", "/v1/forward-auth", { key: null });
    expect(noKey.status).toBe(401);
  });

  it("reads X-Forwarded-Method/Uri (Traefik, Envoy headers) and Envoy's path_prefix form", async () => {
    const fwd = await t.json("POST", "/v1/forward-auth", {
      key: "decide",
      headers: {
        "x-auth-user": org.admin,
        "x-forwarded-method": "DELETE",
        "x-forwarded-uri": `/orgs/${org.id}/billing`,
      },
    });
    expect(fwd.status).toBe(200);
    const envoyAllow = await t.json("PUT", `/v1/forward-auth/portfolios/${org.portfolioId}/settings`, {
      key: "decide",
      headers: { "x-auth-user": org.admin },
    });
    expect(envoyAllow.status).toBe(200);
    const envoyDeny = await t.json("PUT", `/v1/forward-auth/portfolios/${org.portfolioId}/settings`, {
      key: "decide",
      headers: { "x-auth-user": stranger },
    });
    expect(envoyDeny.status).toBe(403);
    const envoyNoKey = await t.json("GET", `/v1/forward-auth/portfolios/${org.portfolioId}`, { key: null });
    expect(envoyNoKey.status).toBe(401);
  });

  it("counts forward-auth decisions by result", async () => {
    const counter = async (result: string) =>
      (await metrics().decisions.get()).values.find(
        (v) => v.labels.endpoint === "forward-auth" && v.labels.result === result,
      )?.value ?? 0;
    const [allow, deny] = [await counter("allow"), await counter("deny")];
    await nginx(org.admin, "GET", `/portfolios/${org.portfolioId}`);
    await nginx(stranger, "GET", `/portfolios/${org.portfolioId}`);
    expect(await counter("allow")).toBe(allow + 1);
    expect(await counter("deny")).toBe(deny + 1);
  });

  it("a bad ROUTES_FILE stops the process at start with exit code 1, naming the problems", async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ["--import", "tsx", "src/main.ts"],
        {
          cwd: ROOT,
          timeout: 30_000,
          env: {
            PATH: process.env.PATH,
            ROUTES_FILE: BAD_ROUTES_FILE,
            OPENFGA_API_URL: "http://127.0.0.1:1",
            DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
            PORT: "0",
            METRICS_PORT: "0",
          },
        },
        (_err, _out, err) => resolve({ code: child.exitCode, stderr: err }),
      );
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/invalid ROUTES_FILE/);
    expect(stderr).toMatch(/routes\.0\.method/);
  });
});
