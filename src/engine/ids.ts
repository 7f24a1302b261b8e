import { API_ID } from "../kernel/ids.js";

/**
 * The one mapping between API ids and OpenFGA ids (built-in model only).
 *
 * API ids are 1–128 characters of `[A-Za-z0-9._@:|-]` (API.md). OpenFGA's
 * object and user ids may contain neither `:` nor `#` (nor whitespace or
 * control characters; pkg/tuple IsValidObject/IsValidUserID), and its API caps
 * an object at 256 characters. So `:` becomes `~`, a character that OpenFGA
 * accepts and the API charset does not contain: every other id is unchanged
 * (readable in the store and in traces), the length is kept (a 128-character
 * id always fits the object cap), and because `~` can never come from a
 * caller, the mapping is injective without an escape for the escape
 * character. A custom MODEL_FILE gets raw ids: there OpenFGA's own rules apply.
 */

/** The API id rule lives in src/kernel/ids.ts; re-exported for the engine-side callers. */
export { API_ID };

const ESCAPE = "~";

export function encodeId(id: string): string {
  // Outside the charset the mapping would not be injective: every entry point
  // validates ids first, so reaching this is a bug, never a caller's mistake.
  if (!API_ID.test(id)) throw new RangeError(`not an API id: ${JSON.stringify(id.slice(0, 140))}`);
  return id.replaceAll(":", ESCAPE);
}

/** The inverse of encodeId on everything encodeId produces. */
export function decodeId(engineId: string): string {
  return engineId.replaceAll(ESCAPE, ":");
}

/** `type:<encoded id>`, the engine object for a platform type and an API id. */
export function engineObject(type: string, id: string): string {
  return `${type}:${encodeId(id)}`;
}

/** engineObject of an optional id; null (no such object) stays null, which `can` answers with false. */
export function engineObjectOrNull(type: string, id: string | null): string | null {
  return id === null ? null : engineObject(type, id);
}

/** The engine user for a platform user id. */
export function engineUser(userId: string): string {
  return engineObject("user", userId);
}

/** Split an engine object (`type:id`, as ListObjects answers) and decode its id. */
export function decodeObject(object: string): { type: string; id: string } {
  const at = object.indexOf(":");
  return { type: object.slice(0, at), id: decodeId(object.slice(at + 1)) };
}

/**
 * Paths that serve both models (decisions, search, forward-auth): the built-in
 * model gets encoded ids; a custom MODEL_FILE gets them as sent, so its
 * tuples file and its callers use the same ids and OpenFGA judges them.
 */
export function modelObject(builtIn: boolean, type: string, id: string): string {
  return builtIn ? engineObject(type, id) : `${type}:${id}`;
}

export function modelId(builtIn: boolean, engineId: string): string {
  return builtIn ? decodeId(engineId) : engineId;
}
