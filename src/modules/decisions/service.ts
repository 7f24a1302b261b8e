import { refusedInput } from "../../engine/batch-check.js";
import { type BatchResult, type CheckItem, Engine, MAX_BATCH_CHECK_ITEMS } from "../../engine/client.js";
import { decider } from "../../engine/decision-cache.js";
import { API_ID, engineObject } from "../../engine/ids.js";
import { isPublicPermission } from "../../engine/permissions.js";
import type { Deps } from "../../kernel/deps.js";
import { DomainError, InvalidInput } from "../../kernel/errors.js";
import { isEngineId, propertiesContext } from "./any-model.js";
import { type EvaluationInput, type EvaluationsInput, parseEvaluation, type Semantic } from "./schemas.js";

/** API.md id charset, for users and resources alike (built-in model). */
export const ID = API_ID;
/** Type and relation names of a custom model: nothing that could build a userset or a wildcard. */
const NAME = /^[^:#@*\s]{1,254}$/;

export interface Decision {
  decision: boolean;
  context?: { error: { status: number; message: string } };
}

type Target = { ok: true; item: CheckItem } | { ok: false; malformed: boolean; message: string };

/**
 * Map an AuthZEN request to an engine check. With the built-in model only the
 * SPEC §2 permissions are answered (roles, levels and helpers are internal)
 * and ids (API.md charset) are encoded for the engine (engine/ids.ts); with a
 * custom MODEL_FILE any relation the engine accepts is, and ids go as sent,
 * judged by OpenFGA's own rules.
 */
export function toCheck(deps: Deps, q: Omit<EvaluationInput, "context">): Target {
  const { subject, action, resource } = q;
  if (deps.managementEnabled) {
    if (!ID.test(subject.id) || !ID.test(resource.id)) {
      return { ok: false, malformed: true, message: "subject.id and resource.id must be valid ids" };
    }
    if (subject.type !== "user" || !isPublicPermission(resource.type, action.name)) {
      return { ok: false, malformed: false, message: "not a public permission" };
    }
    return {
      ok: true,
      item: {
        user: engineObject("user", subject.id),
        relation: action.name,
        object: engineObject(resource.type, resource.id),
      },
    };
  }
  if (!isEngineId(subject.id) || !isEngineId(resource.id)) {
    return { ok: false, malformed: true, message: "subject.id and resource.id must be valid OpenFGA ids" };
  }
  if (!NAME.test(subject.type) || !NAME.test(resource.type) || !NAME.test(action.name)) {
    return { ok: false, malformed: true, message: "malformed type or action name" };
  }
  return {
    ok: true,
    item: {
      user: `${subject.type}:${subject.id}`,
      relation: action.name,
      object: `${resource.type}:${resource.id}`,
    },
  };
}

/**
 * The condition context for the engine. The request time is always ours: a
 * caller's `context` never overrides it. The built-in model reads nothing else
 * from the request, so a caller's context (with the entities' properties,
 * propertiesContext) only reaches custom models.
 */
export function engineContext(deps: Deps, context: Record<string, unknown> | undefined, now = Engine.now()) {
  return deps.managementEnabled ? now : { ...context, ...now };
}

const isEngineValidation = (err: unknown) => err instanceof DomainError && err.code === "engine-validation";

/** The built-in model's checks are built by us: the engine refusing one is a bug, logged, answered as a deny. */
function engineRefusedBug(deps: Deps, err: unknown, items: CheckItem[]) {
  deps.log.error({ err, items }, "bug: the engine refused a check built for the built-in model");
}

/** POST /access/v1/evaluation. Unknown or malformed input is a deny; engine failures throw Unavailable. */
export async function evaluate(deps: Deps, q: EvaluationInput): Promise<boolean> {
  const target = toCheck(deps, q);
  if (!target.ok) return false;
  try {
    return await decider(deps).check(target.item, engineContext(deps, propertiesContext(q)));
  } catch (err) {
    if (!isEngineValidation(err)) throw err;
    if (deps.managementEnabled) engineRefusedBug(deps, err, [target.item]);
    return false;
  }
}

const itemError = (status: number, message: string): Decision => ({
  decision: false,
  context: { error: { status, message } },
});

/** The short-circuit rule of each semantic: does this answer end the batch? */
function stops(semantic: Semantic, d: Decision): boolean {
  if (semantic === "deny_on_first_deny") return !d.decision;
  if (semantic === "permit_on_first_permit") return d.decision;
  return false;
}

type Pending = { index: number; item: CheckItem; context: Record<string, unknown> };

async function checkAlone(
  deps: Deps,
  item: CheckItem,
  ctx: ReturnType<typeof Engine.now>,
): Promise<BatchResult> {
  try {
    return { allowed: await decider(deps).check(item, ctx) };
  } catch (err) {
    if (!isEngineValidation(err)) throw err;
    return { allowed: false, error: (err as Error).message, refused: true };
  }
}

/** Run engine items through the decider (cache, then BatchCheck), one call per distinct condition context. */
async function runBatch(deps: Deps, pending: Pending[], out: Decision[]): Promise<void> {
  const groups = new Map<string, Pending[]>();
  // Items of the built-in model share one context object: serialize each distinct object once.
  const keys = new Map<object, string>();
  for (const p of pending) {
    let key = keys.get(p.context);
    if (key === undefined) {
      key = JSON.stringify(p.context);
      keys.set(p.context, key);
    }
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const ctx = group[0]!.context as ReturnType<typeof Engine.now>;
      let results: BatchResult[];
      try {
        results = await decider(deps).batchCheck(
          group.map((p) => p.item),
          ctx,
        );
      } catch (err) {
        if (!isEngineValidation(err)) throw err;
        // One refused item fails the whole BatchCheck: ask each alone, so the others still get answers.
        results = await Promise.all(group.map((p) => checkAlone(deps, p.item, ctx)));
      }
      results.forEach((r, i) => {
        // The engine reports refused input (unknown type or relation, a bad id, missing condition
        // context) per item; anything else is its fault. With the built-in model every item is
        // ours, so a refusal is a bug: no engine message. With a custom model a refusal is the
        // caller's input: a bare deny, as /evaluation answers it (the interop harnesses compare
        // items as exact JSON, and OpenFGA's own AuthZEN endpoints answer the same).
        const refused = refusedInput(r);
        const { index, item } = group[i]!;
        if (refused && deps.managementEnabled) {
          engineRefusedBug(deps, r.error, [item]);
          out[index] = itemError(500, "the decision could not be evaluated");
        } else if (refused) {
          deps.log.debug({ item, reason: r.error }, "the engine refused a check: deny");
          out[index] = { decision: false };
        } else {
          out[index] = r.error ? itemError(500, r.error) : { decision: r.allowed };
        }
      });
    }),
  );
}

/**
 * POST /access/v1/evaluations. Top-level subject/action/resource/context are
 * defaults that an item replaces as whole entities. Answers keep request
 * order; the short-circuit semantics stop after the first deny (or permit)
 * and answer only up to it, so the engine is asked in order, chunk by chunk.
 * Without items the request is a single evaluation (AuthZEN §7.1).
 */
export async function evaluateMany(
  deps: Deps,
  input: EvaluationsInput,
): Promise<{ single: boolean } | { evaluations: Decision[]; checks: (CheckItem | null)[] }> {
  const items = input.evaluations ?? [];
  if (items.length === 0) {
    const parsed = parseEvaluation(input);
    if (!parsed.success) {
      throw InvalidInput(
        "invalid-request",
        "without evaluations, subject, action and resource are required",
        parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
      );
    }
    return { single: await evaluate(deps, parsed.data) };
  }
  const max = deps.config.MAX_BATCH_EVALUATIONS;
  if (items.length > max) {
    throw InvalidInput("too-many-evaluations", `at most ${max} evaluations per request`, [
      { path: "evaluations", message: `${items.length} items; the maximum is ${max}` },
    ]);
  }
  const semantic = input.options?.evaluations_semantic ?? "execute_all";
  const now = Engine.now();
  const out: Decision[] = new Array(items.length);
  const pending: (Pending | null)[] = items.map((raw, index) => {
    const parsed = parseEvaluation({
      subject: raw.subject ?? input.subject,
      action: raw.action ?? input.action,
      resource: raw.resource ?? input.resource,
      context: raw.context ?? input.context,
    });
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      out[index] = itemError(400, `${i.path.join(".") || "item"}: ${i.message}`);
      return null;
    }
    const target = toCheck(deps, parsed.data);
    if (!target.ok) {
      // A custom model's ids and names are OpenFGA's to judge: one it would refuse is a deny, as in
      // /evaluation. The built-in model's callers learn that an id is outside the API charset.
      out[index] =
        target.malformed && deps.managementEnabled ? itemError(400, target.message) : { decision: false };
      return null;
    }
    return { index, item: target.item, context: engineContext(deps, propertiesContext(parsed.data), now) };
  });

  if (semantic === "execute_all") {
    await runBatch(
      deps,
      pending.filter((p): p is Pending => p !== null),
      out,
    );
    return { evaluations: out, checks: pending.map((p) => p?.item ?? null) };
  }
  // Short-circuit: a window holds up to one BatchCheck chunk of engine items
  // and ends early at an answer already known to stop the batch.
  let start = 0;
  while (start < items.length) {
    const window: Pending[] = [];
    let end = start;
    while (end < items.length && window.length < MAX_BATCH_CHECK_ITEMS) {
      const p = pending[end++];
      if (p) window.push(p);
      else if (stops(semantic, out[end - 1]!)) break;
    }
    await runBatch(deps, window, out);
    for (let i = start; i < end; i++) {
      if (stops(semantic, out[i]!)) {
        return {
          evaluations: out.slice(0, i + 1),
          checks: pending.slice(0, i + 1).map((p) => p?.item ?? null),
        };
      }
    }
    start = end;
  }
  return { evaluations: out, checks: pending.map((p) => p?.item ?? null) };
}
