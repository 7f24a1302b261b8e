import { InvalidInput } from "../../domain/errors.js";

/**
 * Opaque list cursors: base64url of "<kind>:<value>". Clients must not build
 * them; a cursor of another list or a damaged one is 400 invalid-cursor.
 */
export function encodeCursor(kind: string, value: string): string {
  return Buffer.from(`${kind}:${value}`, "utf8").toString("base64url");
}

export function decodeCursor(kind: string, cursor: string | undefined, valid: RegExp): string | null {
  if (cursor === undefined) return null;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const prefix = `${kind}:`;
  const value = text.startsWith(prefix) ? text.slice(prefix.length) : "";
  if (!valid.test(value)) {
    throw InvalidInput("invalid-cursor", "the cursor is not valid for this list", [
      { path: "cursor", message: "not a cursor of this list" },
    ]);
  }
  return value;
}
