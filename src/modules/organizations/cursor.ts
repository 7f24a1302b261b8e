import { InvalidInput } from "../../domain/errors.js";

/**
 * Opaque list cursors: base64url of "<kind>:<value>". Clients must not build
 * them; a cursor of another list or a damaged one is 400 invalid-cursor.
 */
export function encodeCursor(kind: string, value: string): string {
  return Buffer.from(`${kind}:${value}`, "utf8").toString("base64url");
}

export function decodeCursor(
  kind: string,
  cursor: string | undefined,
  valid: { test(value: string): boolean },
): string | null {
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

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

/**
 * A timestamp text from a decoded cursor that PostgreSQL will accept as
 * timestamptz: a real calendar date and time (JavaScript's Date.parse takes
 * "2020-02-30" or "1", PostgreSQL does not), years 1-9999. Kept as text so
 * microseconds survive.
 */
export function isCursorTimestamp(s: unknown): s is string {
  const m = typeof s === "string" ? TIMESTAMP.exec(s) : null;
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return (
    y >= 1 &&
    day.getUTCFullYear() === y &&
    day.getUTCMonth() === mo - 1 &&
    day.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    se < 60
  );
}

/** An id from a decoded cursor: the charset of ids, nothing PostgreSQL text cannot hold. */
export const isCursorId = (s: unknown): s is string =>
  typeof s === "string" && /^[A-Za-z0-9._@:|-]{1,128}$/.test(s);

/** A bigint id from a decoded cursor (audit events), within PostgreSQL's bigint. */
export const isCursorBigint = (s: string) =>
  /^[1-9][0-9]{0,18}$/.test(s) && BigInt(s) <= 9223372036854775807n;
