import { parseArgs } from "node:util";

/** Benchmark options; every load phase is bounded by `durationS` and every loop by a count. */
export interface BenchOptions {
  smoke: boolean;
  orgs: number;
  portfolios: number;
  parks: number;
  users: number;
  cooperations: number;
  /** Own-organization grants per `member`/`external` user (R-O3). */
  grantsPerMember: number;
  /** Delegations per active cooperation (R-C8). */
  delegationsPerCooperation: number;
  /** Seconds per autocannon phase. */
  durationS: number;
  /** Concurrent connections, the same for every target. */
  connections: number;
  /** Distinct decision questions sampled with a zipfian law. */
  cases: number;
  zipfS: number;
  batchSize: number;
  searchIterations: number;
  /** Parallel units of work while loading the dataset. */
  loadParallel: number;
  /** Entities per unit of work while loading. */
  loadBatch: number;
  seed: number;
  outDir: string;
  /** Portfolios, parks, grants and delegations (each) loaded one by one through the resources service. */
  serviceSample: number;
  /** OPENFGA_TIMEOUT_MS for the sidecar; undefined keeps its default (500 ms). */
  engineTimeoutMs: number | undefined;
  /** Connections of the overload phase (compared with 16). */
  overloadConnections: number;
  /** Decision rounds at both replicas right after each revoke of the stale-allow probe. */
  staleRounds: number;
  /** Skip `npm run build` and run the dist/ already there. */
  noBuild: boolean;
}

const HELP = `npm run bench -- [flags]
  --smoke                tiny dataset, 2 s phases (CI)
  --orgs N               organizations (default 1000)
  --portfolios N         portfolios (default 2000)
  --parks N              parks (default 10000)
  --users N              users (default 50000)
  --cooperations N       cooperations (default 2000)
  --grants-per-member N  own grants per member/external (default 1)
  --delegations N        delegations per active cooperation (default 2)
  --duration S           seconds per load phase (default 10)
  --connections N        concurrent connections for every target (default 16)
  --cases N              distinct decision questions (default 5000)
  --zipf S               zipf exponent of key popularity (default 1.0)
  --batch-size N         items per /access/v1/evaluations call (default 50)
  --search-iterations N  timed searches per subject (default 5)
  --load-parallel N      parallel units of work while loading (default 4)
  --load-batch N         entities per unit of work while loading (default 200)
  --service-sample N     of each of portfolios, parks, grants and delegations, how many
                         go one by one through the resources service (default 100)
  --seed N               dataset seed (default 42)
  --out DIR              results folder (default bench/results)
  --engine-timeout-ms N  the sidecar's OPENFGA_TIMEOUT_MS (default: its own default, 500;
                         --smoke uses 5000 so a busy CI machine checks answers, not timeouts)
  --overload-connections N  connections of the overload phase, against 16 (default 200)
  --stale-rounds N       decision rounds at both replicas after each revoke (default 5)
  --no-build             run the dist/ already there; by default \`npm run build\` runs first
                         unless dist/main.js is newer than every file of src/`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      smoke: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
      orgs: { type: "string" },
      portfolios: { type: "string" },
      parks: { type: "string" },
      users: { type: "string" },
      cooperations: { type: "string" },
      "grants-per-member": { type: "string" },
      delegations: { type: "string" },
      duration: { type: "string" },
      connections: { type: "string" },
      cases: { type: "string" },
      zipf: { type: "string" },
      "batch-size": { type: "string" },
      "search-iterations": { type: "string" },
      "load-parallel": { type: "string" },
      "load-batch": { type: "string" },
      seed: { type: "string" },
      "service-sample": { type: "string" },
      out: { type: "string" },
      "engine-timeout-ms": { type: "string" },
      "overload-connections": { type: "string" },
      "stale-rounds": { type: "string" },
      "no-build": { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const smoke = values.smoke === true;
  const num = (v: string | undefined, full: number, tiny: number, min = 0): number => {
    const n = v === undefined ? (smoke ? tiny : full) : Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`bad numeric flag value: ${v}`);
    return n;
  };
  const o: BenchOptions = {
    smoke,
    orgs: num(values.orgs, 1000, 6, 2),
    portfolios: num(values.portfolios, 2000, 12, 1),
    parks: num(values.parks, 10_000, 36, 1),
    users: num(values.users, 50_000, 60, 2),
    cooperations: num(values.cooperations, 2000, 8),
    grantsPerMember: num(values["grants-per-member"], 1, 1),
    delegationsPerCooperation: num(values.delegations, 2, 2),
    durationS: num(values.duration, 10, 2, 0.2),
    connections: num(values.connections, 16, 4, 1),
    cases: num(values.cases, 5000, 200, 10),
    zipfS: num(values.zipf, 1.0, 1.0),
    batchSize: num(values["batch-size"], 50, 50, 1),
    searchIterations: num(values["search-iterations"], 5, 1, 1),
    loadParallel: num(values["load-parallel"], 4, 2, 1),
    loadBatch: num(values["load-batch"], 200, 50, 1),
    seed: num(values.seed, 42, 42),
    serviceSample: num(values["service-sample"], 100, 4),
    outDir: values.out ?? "bench/results",
    engineTimeoutMs:
      values["engine-timeout-ms"] !== undefined
        ? num(values["engine-timeout-ms"], 0, 0, 1)
        : smoke
          ? 5000
          : undefined,
    overloadConnections: num(values["overload-connections"], 200, 200, 1),
    staleRounds: num(values["stale-rounds"], 5, 5, 1),
    noBuild: values["no-build"] === true,
  };
  if (o.users < o.orgs * 2)
    throw new Error("--users must be at least 2 per organization (admin + moderator)");
  if (o.portfolios < o.orgs) throw new Error("--portfolios must be at least one per organization");
  if (o.parks < o.portfolios) throw new Error("--parks must be at least one per portfolio");
  if (o.cooperations > o.orgs * (o.orgs - 1))
    throw new Error("--cooperations exceeds the ordered organization pairs");
  return o;
}
