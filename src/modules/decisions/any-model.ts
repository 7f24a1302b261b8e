import type { Config } from "../../config.js";

/**
 * Any-model mode (MODEL_FILE): the rules that replace the platform's own when
 * the sidecar serves decisions for somebody else's OpenFGA model.
 */

/**
 * OpenFGA's id rule (pkg/tuple IsValidObject / IsValidUserID): no `:`, `#`,
 * space or control character. `*` alone is the wildcard, not an id. Anything
 * else (slashes, braces, unicode) is the engine's to judge; what it still
 * refuses (e.g. its length caps) comes back as a validation error, a deny.
 */
const ENGINE_ID = /^[^:#\p{Cc} ]+$/u;

export function isEngineId(id: string): boolean {
  return id !== "*" && ENGINE_ID.test(id);
}

type Entity = { properties?: Record<string, unknown> | undefined } | undefined;

/**
 * The caller's condition context, the way OpenFGA's own AuthZEN endpoints
 * build it: `subject_<key>`, `resource_<key>`, `action_<key>` from the
 * entities' properties, under the request `context` (which wins on a clash).
 * The request time is added later and always wins (engineContext).
 */
export function propertiesContext(q: {
  subject?: Entity;
  resource?: Entity;
  action?: Entity;
  context?: Record<string, unknown> | undefined;
}): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [prefix, entity] of [
    ["subject_", q.subject],
    ["resource_", q.resource],
    ["action_", q.action],
  ] as const) {
    for (const [k, v] of Object.entries(entity?.properties ?? {})) {
      out[`${prefix}${k}`] = v;
      any = true;
    }
  }
  if (!any) return q.context;
  return { ...out, ...q.context };
}

/**
 * Which relations of a custom model's type are actions, for action search and
 * the discovery metadata: the type's ACTION_RELATIONS entry, else the
 * relations matching ACTION_RELATION_PATTERN, else (neither configured)
 * every relation, as OpenFGA's own action search answers. Order follows the model.
 */
export function actionsOf(config: Config, type: string, relations: readonly string[]): string[] {
  const listed = config.ACTION_RELATIONS.get(type);
  if (listed) return relations.filter((r) => listed.includes(r));
  const pattern = config.ACTION_RELATION_PATTERN;
  if (pattern) return relations.filter((r) => pattern.test(r));
  if (config.ACTION_RELATIONS.size > 0) return [];
  return [...relations];
}
