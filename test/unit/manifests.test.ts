import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createApp } from "../../src/app.js";
import { configSchema, testConfig } from "../../src/config.js";
import { Readiness } from "../../src/readiness.js";

/**
 * Every manifest under deploy/ is parsed and checked against the application
 * itself: probe paths are requested from the real app (a 404 fails), probe
 * ports must be declared container ports (the sidecar's equal to its PORT),
 * environment names must be keys of configSchema, and every container runs
 * non-root, read-only, without capabilities, with resources. Metrics (API.md
 * Operations): Prometheus annotations and the NetworkPolicy name the
 * sidecar's metrics port (METRICS_PORT), never its API port.
 */

type Obj = Record<string, any>;
const ROOT = path.resolve(import.meta.dirname, "../..");
const K8S = path.join(ROOT, "deploy/kubernetes");
const KEYS = new Set(Object.keys(configSchema.shape));
const DEFAULT_PORT = String(configSchema.shape.PORT.parse(undefined));
const DEFAULT_METRICS_PORT = String(configSchema.shape.METRICS_PORT.parse(undefined));
const OPENFGA_IMAGE = "openfga/openfga:v1.22.1";

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function load(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, "utf8"), { merge: true }).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return d.toJS() as Obj;
  });
}

const isSidecar = (c: Obj) => /(^|\/)authz-sidecar(:|$)/.test(c.image ?? "");

let servedPaths: (p: string) => Promise<boolean>;

/** Problems in a set of manifests (an empty list is a pass); exported shape so mutations can be tested. */
async function problems(docs: Obj[], secretKeys: Map<string, Set<string>>): Promise<string[]> {
  const out: string[] = [];
  const configMaps = new Map(
    docs.filter((d) => d?.kind === "ConfigMap").map((d) => [d.metadata.name, d.data ?? {}] as const),
  );
  for (const d of docs.filter((x) => ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(x?.kind))) {
    const spec = d.spec.template.spec as Obj;
    const where = `${d.kind}/${d.metadata.name}`;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers] as Obj[]) {
      const at = `${where} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.runAsNonRoot !== true && spec.securityContext?.runAsNonRoot !== true)
        out.push(`${at}: not runAsNonRoot`);
      if (sc.readOnlyRootFilesystem !== true) out.push(`${at}: root filesystem not read-only`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: privilege escalation allowed`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${at}: capabilities not dropped`);
      if (!c.resources?.requests || !c.resources?.limits) out.push(`${at}: no resource requests/limits`);
      const ports = (c.ports ?? []) as Obj[];
      const env = new Map<string, string | undefined>();
      for (const e of (c.env ?? []) as Obj[]) env.set(e.name, e.value);
      for (const ef of (c.envFrom ?? []) as Obj[]) {
        const name = ef.configMapRef?.name ?? ef.secretRef?.name;
        const data = ef.configMapRef ? configMaps.get(name) : undefined;
        if (ef.configMapRef && !data) out.push(`${at}: ConfigMap ${name} not found`);
        for (const [k, v] of Object.entries(data ?? {})) env.set(k, v as string);
        if (ef.secretRef) out.push(`${at}: use secretKeyRef so the names are checked`);
      }
      for (const e of (c.env ?? []) as Obj[]) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secretKeys.get(ref.name)?.has(ref.key))
          out.push(`${at}: secret ${ref.name}/${ref.key} not provided`);
      }
      const probes = ["startupProbe", "livenessProbe", "readinessProbe"].flatMap((k) =>
        c[k] ? [[k, c[k]]] : [],
      );
      for (const [kind, probe] of probes as [string, Obj][]) {
        const target = probe.httpGet ?? probe.tcpSocket;
        if (!target) continue;
        const port = ports.find((p) => p.name === target.port || p.containerPort === target.port);
        if (!port) out.push(`${at}: ${kind} port ${target.port} is not a container port`);
        if (isSidecar(c) && probe.httpGet) {
          if (!(await servedPaths(probe.httpGet.path)))
            out.push(`${at}: ${kind} path ${probe.httpGet.path} is not served`);
          const listen = env.get("PORT") || DEFAULT_PORT;
          if (port && String(port.containerPort) !== listen)
            out.push(`${at}: ${kind} port ${port.containerPort} ≠ PORT ${listen}`);
        }
      }
      if (!isSidecar(c)) continue;
      for (const name of env.keys())
        if (!KEYS.has(name)) out.push(`${at}: ${name} is not a configuration variable`);
      if (d.kind === "Deployment") {
        for (const k of KEYS) if (!env.has(k)) out.push(`${at}: configuration variable ${k} not referenced`);
        if (c.livenessProbe?.httpGet?.path !== "/healthz") out.push(`${at}: liveness must be /healthz`);
        if (c.readinessProbe?.httpGet?.path !== "/readyz") out.push(`${at}: readiness must be /readyz`);
        if (!c.startupProbe) out.push(`${at}: no startupProbe`);
      }
    }
  }
  return out;
}

/** The sidecar's env as the container sees it (ConfigMap values, then env values). */
function sidecarEnv(docs: Obj[], c: Obj): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const ef of (c.envFrom ?? []) as Obj[]) {
    const cm = docs.find((d) => d?.kind === "ConfigMap" && d.metadata.name === ef.configMapRef?.name);
    for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(k, v as string);
  }
  for (const e of (c.env ?? []) as Obj[]) env.set(e.name, e.value);
  return env;
}

/** Problems of the metrics wiring: annotations, declared port, NetworkPolicy. */
function metricsProblems(docs: Obj[]): string[] {
  const out: string[] = [];
  for (const d of docs.filter((x) => x?.kind === "Deployment")) {
    const sidecar = (d.spec.template.spec.containers as Obj[]).find(isSidecar);
    if (!sidecar) continue;
    const at = `Deployment/${d.metadata.name}`;
    const env = sidecarEnv(docs, sidecar);
    const api = env.get("PORT") || DEFAULT_PORT;
    const metricsPort = env.get("METRICS_PORT") || DEFAULT_METRICS_PORT;
    if (metricsPort === api) out.push(`${at}: METRICS_PORT equals PORT`);
    if ((env.get("METRICS_HOST") || env.get("HOST")) === "127.0.0.1")
      out.push(`${at}: the metrics listener is on loopback, Prometheus cannot reach it`);
    const declared = ((sidecar.ports ?? []) as Obj[]).find((p) => String(p.containerPort) === metricsPort);
    if (!declared) out.push(`${at}: metrics port ${metricsPort} is not a container port`);
    const ann = (d.spec.template.metadata.annotations ?? {}) as Obj;
    if (ann["prometheus.io/scrape"] === "true") {
      if (String(ann["prometheus.io/port"]) !== metricsPort)
        out.push(`${at}: prometheus.io/port ${ann["prometheus.io/port"]} ≠ METRICS_PORT ${metricsPort}`);
      if (ann["prometheus.io/path"] !== "/metrics") out.push(`${at}: prometheus.io/path is not /metrics`);
    }
    const labels = d.spec.template.metadata.labels as Obj;
    for (const np of docs.filter((x) => x?.kind === "NetworkPolicy")) {
      const sel = (np.spec.podSelector?.matchLabels ?? {}) as Obj;
      if (!Object.entries(sel).every(([k, v]) => labels[k] === v)) continue;
      const ports = (np.spec.ingress ?? []).flatMap((r: Obj) =>
        (r.ports ?? []).map((p: Obj) => String(p.port)),
      ) as string[];
      if (ports.includes(api))
        out.push(`NetworkPolicy/${np.metadata.name}: admits the sidecar API port ${api}`);
      if (!ports.includes(metricsPort))
        out.push(`NetworkPolicy/${np.metadata.name}: does not admit the metrics port ${metricsPort}`);
    }
  }
  return out;
}

/** Secret names and keys provided by Secret manifests and kustomize secretGenerators. */
function providedSecrets(docs: Obj[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const d of docs) {
    if (d?.kind === "Secret") m.set(d.metadata.name, new Set(Object.keys({ ...d.data, ...d.stringData })));
    for (const g of (d?.kind === "Kustomization" ? (d.secretGenerator ?? []) : []) as Obj[])
      m.set(g.name, new Set((g.literals ?? []).map((l: string) => l.split("=")[0])));
  }
  return m;
}

describe("deploy manifests", () => {
  const files = yamlFiles(K8S);
  const docs = files.flatMap(load);
  const secrets = providedSecrets(docs);

  beforeAll(() => {
    const readiness = new Readiness();
    const app = createApp({
      config: testConfig(),
      log: pino({ level: "silent" }),
      sql: {} as never,
      engine: {} as never,
      managementEnabled: true,
      now: () => new Date(),
      readiness,
    });
    servedPaths = async (p) => (await app.request(p)).status !== 404;
  });

  it("parses every manifest, and every kustomization names files that exist", () => {
    expect(files.length).toBeGreaterThan(5);
    for (const f of files.filter((x) => path.basename(x) === "kustomization.yaml")) {
      const k = load(f)[0]!;
      for (const r of [
        ...(k.resources ?? []),
        ...(k.configMapGenerator ?? []).flatMap((g: Obj) => g.files ?? []),
      ])
        expect(existsSync(path.resolve(path.dirname(f), r)), `${f}: ${r}`).toBe(true);
    }
  });

  it("finds no probe, port, environment or security-context problem", async () => {
    expect(await problems(docs, secrets)).toEqual([]);
  });

  it("scrapes the metrics listener (METRICS_PORT), declared and admitted by the NetworkPolicy, never the API port", () => {
    expect(metricsProblems(docs)).toEqual([]);
    const mutated = structuredClone(docs);
    const app = mutated.find((d) => d.kind === "Deployment" && d.metadata.name === "example-app")!;
    app.spec.template.metadata.annotations["prometheus.io/port"] = "8787";
    const np = mutated.find((d) => d.kind === "NetworkPolicy" && d.metadata.name === "example-app")!;
    np.spec.ingress.at(-1).ports = [{ port: 8787 }];
    const found = metricsProblems(mutated).join("\n");
    expect(found).toMatch(/prometheus.io\/port 8787 ≠ METRICS_PORT 9464/);
    expect(found).toMatch(/admits the sidecar API port 8787/);
    expect(found).toMatch(/does not admit the metrics port 9464/);
  });

  it("fails on a wrong probe path or port, an unknown variable, or a missing security context", async () => {
    const app = structuredClone(
      docs.find((d) => d.kind === "Deployment" && d.metadata.name === "example-app")!,
    );
    const sidecar = app.spec.template.spec.containers.find(isSidecar);
    sidecar.livenessProbe.httpGet.path = "/health";
    sidecar.readinessProbe.httpGet.port = 9999;
    sidecar.env.push({ name: "DATABASE_URI", value: "x" });
    delete sidecar.securityContext;
    const mutated = docs.map((d) => (d.kind === "Deployment" && d.metadata.name === "example-app" ? app : d));
    const found = await problems(mutated, secrets);
    expect(found.join("\n")).toMatch(/livenessProbe path \/health is not served/);
    expect(found.join("\n")).toMatch(/readinessProbe port 9999 is not a container port/);
    expect(found.join("\n")).toMatch(/DATABASE_URI is not a configuration variable/);
    expect(found.join("\n")).toMatch(/root filesystem not read-only/);
    expect(found.join("\n")).toMatch(/capabilities not dropped/);
  });

  it("has the OpenFGA server with its migrate Job, PodDisruptionBudget and NetworkPolicy selecting it", () => {
    const fga = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "openfga")!;
    const labels = fga.spec.template.metadata.labels as Obj;
    expect(fga.spec.template.spec.containers[0].image).toBe(OPENFGA_IMAGE);
    const selects = (sel: Obj) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    const pdb = docs.find((d) => d.kind === "PodDisruptionBudget")!;
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    const np = docs.find((d) => d.kind === "NetworkPolicy" && d.metadata.name === "openfga")!;
    expect(selects(np.spec.podSelector.matchLabels)).toBe(true);
    const jobs = docs.filter((d) => d.kind === "Job");
    expect(
      jobs.some(
        (j) =>
          j.spec.template.spec.containers[0].image === OPENFGA_IMAGE &&
          j.spec.template.spec.containers[0].args?.[0] === "migrate",
      ),
    ).toBe(true);
    expect(
      jobs.some(
        (j) => j.spec.template.spec.containers[0].command?.join(" ") === "node dist/db/migrate-cli.js",
      ),
    ).toBe(true);
    // The sidecar pods may reach OpenFGA through its NetworkPolicy.
    const appLabels = docs.find((d) => d.metadata?.name === "example-app" && d.kind === "Deployment")!.spec
      .template.metadata.labels;
    const allowed = np.spec.ingress[0].from[0].podSelector.matchLabels as Obj;
    expect(Object.entries(allowed).every(([k, v]) => appLabels[k] === v)).toBe(true);
  });

  it("compose.yaml wires the same services with configuration names the application knows", () => {
    const compose = load(path.join(ROOT, "deploy/compose.yaml"))[0]!;
    const s = compose.services as Obj;
    expect(Object.keys(s)).toEqual(
      expect.arrayContaining(["postgres", "openfga-migrate", "openfga", "authz-migrate", "authz-sidecar"]),
    );
    expect(s.openfga.image).toBe(OPENFGA_IMAGE);
    expect(s["openfga-migrate"].command).toEqual(["migrate"]);
    expect(s["authz-migrate"].command).toEqual(["node", "dist/db/migrate-cli.js"]);
    for (const svc of ["authz-sidecar", "authz-migrate"]) {
      for (const name of Object.keys(s[svc].environment))
        expect(KEYS.has(name), `${svc}: ${name}`).toBe(true);
    }
    expect(s["authz-sidecar"].healthcheck.test.join(" ")).toContain("/readyz");
    expect(s["authz-sidecar"].ports).toContain(`${s["authz-sidecar"].environment.METRICS_PORT}:9464`);
  });
});
