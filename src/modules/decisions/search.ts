import { createHash } from "node:crypto";
import { type CheckItem, Engine, engineError } from "../../engine/client.js";
import { decider } from "../../engine/decision-cache.js";
import { modelId } from "../../engine/ids.js";
import { PUBLIC_PERMISSIONS } from "../../engine/permissions.js";
import type { Deps } from "../../kernel/deps.js";
import { DomainError, InvalidInput, Unavailable } from "../../kernel/errors.js";
import { actionsOf, propertiesContext } from "./any-model.js";
import { candidateOrganizations, candidateResources } from "./candidates.js";
import type { SearchActionInput, SearchResourceInput, SearchSubjectInput } from "./schemas.js";
import { engineContext, toCheck } from "./service.js";

export const DEFAULT_PAGE_LIMIT = 50;

export interface Page<T> {
  results: T[];
  page: { next_token: string; count: number; total: number };
}

/**
 * Opaque page tokens: base64url JSON of the offset and a hash of the search
 * parameters, so a follow-up that changed them is refused (400) instead of
 * silently paging through another result set. The limit may change between pages.
 */
function paramsHash(parts: unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 22);
}

function offsetOf(token: string | undefined, hash: string): number {
  if (!token) return 0;
  let parsed: { o?: unknown; h?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = {};
  }
  if (typeof parsed?.o !== "number" || !Number.isInteger(parsed.o) || parsed.o < 0) {
    throw InvalidInput("invalid-page-token", "page.token is not a token this server issued", [
      { path: "page.token", message: "unknown token" },
    ]);
  }
  if (parsed.h !== hash) {
    throw InvalidInput("page-token-mismatch", "page.token belongs to a search with other parameters", [
      { path: "page.token", message: "the search parameters changed since this token was issued" },
    ]);
  }
  return parsed.o;
}

export function paginate<T>(
  all: T[],
  token: string | undefined,
  limit: number | undefined,
  parts: unknown[],
): Page<T> {
  const hash = paramsHash(parts);
  const offset = offsetOf(token, hash);
  const results = all.slice(offset, offset + (limit ?? DEFAULT_PAGE_LIMIT));
  const next = offset + results.length;
  const next_token =
    next < all.length ? Buffer.from(JSON.stringify({ o: next, h: hash })).toString("base64url") : "";
  return { results, page: { next_token, count: results.length, total: all.length } };
}

const incomplete = (what: string) =>
  Unavailable("search-incomplete", `the engine's ${what} answer may be truncated; narrow the search`);

/**
 * OpenFGA cuts ListObjects/ListUsers at its result cap and at its deadline
 * without saying so. Never pass such an answer on: reaching the cap, or
 * taking about as long as the deadline, is an explicit error.
 */
async function complete(deps: Deps, what: string, call: () => Promise<string[]>): Promise<string[]> {
  const { OPENFGA_LIST_MAX_RESULTS: cap, OPENFGA_LIST_DEADLINE_MS: deadline } = deps.config;
  const started = performance.now();
  let found: string[];
  try {
    found = await call();
  } catch (err) {
    // A custom model that lacks the type or relation has nothing to list.
    if (!(err instanceof DomainError && err.code === "engine-validation")) throw err;
    if (deps.managementEnabled)
      deps.log.error({ err }, `bug: the engine refused a ${what} built for the built-in model`);
    return [];
  }
  if (cap > 0 && found.length >= cap) throw incomplete(what);
  if (deadline > 0 && performance.now() - started >= deadline * 0.9) throw incomplete(what);
  return [...new Set(found)].sort();
}

/** POST /access/v1/search/resource: OpenFGA ListObjects. */
export async function searchResources(
  deps: Deps,
  q: SearchResourceInput,
): Promise<Page<{ type: string; id: string }>> {
  const ctx = deps.managementEnabled ? undefined : propertiesContext(q);
  const parts = ["resource", q.subject.type, q.subject.id, q.action.name, q.resource.type, ctx ?? null];
  // Any placeholder id passes toCheck's id test: only the type matters here.
  const target = toCheck(deps, { ...q, resource: { type: q.resource.type, id: "x" } });
  let all: { type: string; id: string }[] = [];
  if (target.ok && deps.managementEnabled) {
    all = await searchBuiltIn(deps, q);
  } else if (target.ok) {
    const ids = await complete(deps, "ListObjects", () =>
      deps.engine.listObjects(target.item.user, q.action.name, q.resource.type, engineContext(deps, ctx)),
    );
    all = ids.map((o) => ({ type: q.resource.type, id: o.slice(o.indexOf(":") + 1) }));
  }
  return paginate(all, q.page?.token, q.page?.limit, parts);
}

/**
 * The built-in model: the database names the candidates (a superset, see
 * candidates.ts) and the engine decides each one through the decision cache,
 * batched. Never a partial list: an item the engine does not answer fails
 * the search (503), as a cut ListObjects answer would.
 */
async function searchBuiltIn(deps: Deps, q: SearchResourceInput): Promise<{ type: string; id: string }[]> {
  const type = q.resource.type;
  let ids: string[];
  if (type === "park" || type === "portfolio") ids = await candidateResources(deps.sql, q.subject.id, type);
  else if (type === "organization") ids = await candidateOrganizations(deps.sql, q.subject.id);
  else if (type === "platform") ids = ["default"];
  else ids = [];
  const checks: { id: string; item: CheckItem }[] = [];
  for (const id of ids) {
    const t = toCheck(deps, { subject: q.subject, action: q.action, resource: { type, id } });
    if (t.ok) checks.push({ id, item: t.item });
  }
  if (checks.length === 0) return [];
  const at = Engine.now();
  const allowed = await decider(deps).batchCheckAll(
    checks.map((c) => c.item),
    at,
  );
  const out = checks.filter((_, i) => allowed[i]).map((c) => ({ type, id: c.id }));
  return out.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** POST /access/v1/search/subject: OpenFGA ListUsers. */
export async function searchSubjects(
  deps: Deps,
  q: SearchSubjectInput,
): Promise<Page<{ type: string; id: string }>> {
  const ctx = deps.managementEnabled ? undefined : propertiesContext(q);
  const parts = ["subject", q.subject.type, q.action.name, q.resource.type, q.resource.id, ctx ?? null];
  const target = toCheck(deps, { ...q, subject: { type: q.subject.type, id: "x" } });
  let ids: string[] = [];
  if (target.ok) {
    // The object in engine form (its id encoded for the built-in model).
    const object = target.item.object;
    ids = await complete(deps, "ListUsers", () =>
      deps.engine.listUsers(
        { type: q.resource.type, id: object.slice(object.indexOf(":") + 1) },
        q.action.name,
        engineContext(deps, ctx),
        q.subject.type,
      ),
    );
  }
  const all = ids.map((id) => ({ type: q.subject.type, id: modelId(deps.managementEnabled, id) }));
  return paginate(all, q.page?.token, q.page?.limit, parts);
}

/** Relations per type of the pinned custom model, read once per model id. */
const modelRelations = new Map<string, Map<string, string[]>>();

async function relationsOf(deps: Deps, type: string): Promise<string[]> {
  const modelId = deps.engine.modelId ?? "";
  let byType = modelRelations.get(modelId);
  if (!byType) {
    try {
      const res = await deps.engine.admin.readAuthorizationModel({ authorizationModelId: modelId });
      byType = new Map(
        (res.authorization_model?.type_definitions ?? []).map((t) => [
          t.type,
          Object.keys(t.relations ?? {}),
        ]),
      );
    } catch (err) {
      throw engineError(err);
    }
    modelRelations.set(modelId, byType);
  }
  return byType.get(type) ?? [];
}

/** A check the engine refuses (a custom model's condition lacking a parameter, say) holds no action. */
async function checkOrRefused(deps: Deps, item: CheckItem, at: ReturnType<typeof Engine.now>) {
  try {
    return await deps.engine.check(item, at);
  } catch (err) {
    if (!(err instanceof DomainError && err.code === "engine-validation")) throw err;
    if (deps.managementEnabled)
      deps.log.error({ err, item }, "bug: the engine refused an action-search check");
    return false;
  }
}

/** The action names of a resource type: SPEC §2 permissions, or a custom model's actions (ACTION_RELATIONS). */
export async function actionNames(deps: Deps, type: string): Promise<string[]> {
  if (deps.managementEnabled) return [...(PUBLIC_PERMISSIONS[type] ?? [])];
  return actionsOf(deps.config, type, await relationsOf(deps, type));
}

/**
 * POST /access/v1/search/action: the SPEC §2 permissions (and nothing else:
 * no roles, levels or helpers) that the subject holds, in one BatchCheck.
 * With a custom model, the relations that ACTION_RELATIONS (or
 * ACTION_RELATION_PATTERN) names as actions; without either, every relation.
 */
export async function searchActions(deps: Deps, q: SearchActionInput): Promise<Page<{ name: string }>> {
  const ctx = deps.managementEnabled ? undefined : propertiesContext(q);
  const parts = ["action", q.subject.type, q.subject.id, q.resource.type, q.resource.id, ctx ?? null];
  // toCheck refuses malformed ids and (built-in model) non-user subjects: those hold no action.
  const probe = toCheck(deps, { subject: q.subject, action: { name: "x" }, resource: q.resource });
  const names = probe.ok || !probe.malformed ? await actionNames(deps, q.resource.type) : [];
  const checks = names.flatMap((name) => {
    const t = toCheck(deps, { subject: q.subject, action: { name }, resource: q.resource });
    return t.ok ? [t.item] : [];
  });
  const at = engineContext(deps, ctx, Engine.now());
  let allowed: boolean[];
  try {
    allowed = await decider(deps).batchCheckAll(checks, at);
  } catch (err) {
    // The engine refused the whole BatchCheck (a custom model's subject or
    // resource id it does not accept, say): ask each alone, where a refusal holds no action.
    if (!(err instanceof DomainError && err.code === "engine-validation")) throw err;
    allowed = await Promise.all(checks.map((c) => checkOrRefused(deps, c, at)));
  }
  const held = checks.filter((_, i) => allowed[i]).map((c) => ({ name: c.relation }));
  return paginate(held, q.page?.token, q.page?.limit, parts);
}
