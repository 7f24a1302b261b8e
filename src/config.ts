import { z } from "zod";

/**
 * The one schema over the environment. Parsed once at start (main.ts / dev.ts)
 * and injected; nothing else reads process.env. Every variable is documented
 * in README.md ("Configuration").
 */

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const csv = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);

const sha256Hex = /^[0-9a-f]{64}$/;

/** `API_KEYS`: comma-separated `name:scope1+scope2:sha256hex` entries. */
const apiKeys = z.string().transform((s, ctx) => {
  const keys: ApiKeyConfig[] = [];
  for (const entry of s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [name, scopes, hash] = entry.split(":");
    const scopeList = (scopes ?? "").split("+").filter(Boolean);
    if (!name || !hash || !sha256Hex.test(hash) || scopeList.length === 0) {
      ctx.addIssue({ code: "custom", message: `entry "${name ?? ""}" must be name:scope[+scope]:sha256hex` });
      return z.NEVER;
    }
    for (const sc of scopeList) {
      if (sc !== "decide" && sc !== "manage") {
        ctx.addIssue({ code: "custom", message: `unknown scope "${sc}" in entry "${name}"` });
        return z.NEVER;
      }
    }
    keys.push({ name, scopes: scopeList as Scope[], hash });
  }
  return keys;
});

/**
 * Any-model mode (MODEL_FILE). `ACTION_RELATIONS`: comma-separated
 * `type:relation[|relation]` entries naming the relations of a type that are
 * actions (action search, discovery metadata); `ACTION_RELATION_PATTERN`: a
 * regular expression for the types not listed (e.g. `^can_`). Neither set:
 * every relation is an action.
 */
const actionRelations = z.string().transform((s, ctx) => {
  const out = new Map<string, string[]>();
  for (const entry of s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const at = entry.indexOf(":");
    const type = entry.slice(0, at).trim();
    const names = entry
      .slice(at + 1)
      .split("|")
      .map((x) => x.trim())
      .filter(Boolean);
    if (at <= 0 || !names.length || /[#@*\s]/.test(type) || names.some((n) => /[:#@*\s]/.test(n))) {
      ctx.addIssue({ code: "custom", message: `entry "${entry}" must be type:relation[|relation]` });
      return z.NEVER;
    }
    out.set(type, [...(out.get(type) ?? []), ...names]);
  }
  return out as ReadonlyMap<string, readonly string[]>;
});
const regex = z.string().transform((s, ctx) => {
  try {
    return new RegExp(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `not a regular expression: ${(err as Error).message}` });
    return z.NEVER;
  }
});

export type Scope = "decide" | "manage";
export interface ApiKeyConfig {
  name: string;
  scopes: Scope[];
  /** sha256 hex of the key; the key itself is never stored. */
  hash: string;
}

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default("127.0.0.1"),
  PUBLIC_BASE_URL: z.url().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().positive().default(10),
  OPENFGA_API_URL: z.url().optional(),
  OPENFGA_API_TOKEN: z.string().min(1).optional(),
  OPENFGA_STORE_NAME: z.string().min(1).default("authz-sidecar"),
  OPENFGA_STORE_ID: z.string().min(1).optional(),
  OPENFGA_MODEL_ID: z.string().min(1).optional(),
  OPENFGA_BIN: z.string().min(1).optional(),
  OPENFGA_TIMEOUT_MS: z.coerce.number().int().positive().default(500),
  OPENFGA_SEARCH_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** OpenFGA's own ListObjects/ListUsers result cap and deadline (its --listObjects-max-results,
   * --listUsers-max-results, --listObjects-deadline, --listUsers-deadline; 0 = none): it cuts
   * answers there silently, so searches that reach them answer 503 search-incomplete. */
  OPENFGA_LIST_MAX_RESULTS: z.coerce.number().int().min(0).default(1000),
  OPENFGA_LIST_DEADLINE_MS: z.coerce.number().int().min(0).default(3000),
  /** Decision cache entries (LRU, never stale: see bench/README.md); 0 turns it off. */
  DECISION_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  /** Engine check units in flight at most (a BatchCheck of n items weighs n); size it for OpenFGA's pool. */
  ENGINE_MAX_IN_FLIGHT: z.coerce.number().int().positive().max(10_000).default(32),
  /** Check units that may wait for the engine; beyond them a decision answers 503 at once. */
  ENGINE_QUEUE_MAX: z.coerce.number().int().min(0).max(100_000).default(256),
  /** How long an engine call may wait for a slot, predicted or actual, before 503 engine-overloaded;
   * separate from OPENFGA_TIMEOUT_MS, which starts only once the call holds a slot. */
  ENGINE_QUEUE_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  /** Single-check requests in flight beyond which concurrent checks are sent together as one
   * BatchCheck (when one of those answers); 0 never batches them before the engine is full. */
  ENGINE_BATCH_AFTER: z.coerce.number().int().min(0).max(10_000).default(4),
  MODEL_FILE: z.string().min(1).optional(),
  TUPLES_FILE: z.string().min(1).optional(),
  ACTION_RELATIONS: actionRelations.default(new Map()),
  ACTION_RELATION_PATTERN: regex.optional(),
  API_KEYS: apiKeys.default([]),
  BOOTSTRAP_SYSADMINS: csv.default([]),
  DATA_DIR: z.string().default(".data"),
  MAX_BATCH_EVALUATIONS: z.coerce.number().int().positive().max(10_000).default(200),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  RECONCILE_INTERVAL_S: z.coerce.number().int().min(0).default(300),
  INVITATION_TTL_DAYS: z.coerce.number().int().min(1).max(30).default(7),
  INVITATION_ACCEPT_URL: z.url().default("http://localhost:8787/invitations/accept"),
  WEBHOOK_URL: z.url().optional(),
  WEBHOOK_SECRET: z.string().min(16).optional(),
  ROUTES_FILE: z.string().min(1).optional(),
  FORWARD_AUTH_SUBJECT_HEADER: z.string().min(1).default("x-forwarded-user"),
  METRICS_ENABLED: bool.default(true),
  /** `/metrics` listens here, apart from the API (no key; never on PORT). Host defaults to HOST. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  METRICS_HOST: z.string().min(1).optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n")}`);
  }
}

/** Parse an environment; empty strings count as unset. Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? "?"), message: i.message })),
    );
  }
  return parsed.data;
}

/** A config for tests and tools: defaults plus overrides, without reading the environment. */
/**
 * The one name for the service's mode: the built-in model (model/model.fga)
 * with the management API, or a custom MODEL_FILE, which serves decisions
 * only (no database, raw ids, the management API answers 404).
 */
export function managementEnabled(config: Pick<Config, "MODEL_FILE">): boolean {
  return !config.MODEL_FILE;
}

export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  return loadConfig(overrides);
}
