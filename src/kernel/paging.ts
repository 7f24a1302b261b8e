import { InvalidInput } from "./errors.js";
import { isApiId } from "./ids.js";

/**
 * The one list paging scheme (members, audit events, cooperations,
 * invitations, grants): keyset pages with an opaque cursor. A cursor is
 * base64url of the JSON array `[kind, ...key]`: the kind ties it to its list,
 * and every key part is checked before it reaches SQL, so a cursor of another
 * list or a damaged one is 400 invalid-cursor and never a database error.
 * Clients must not build cursors.
 */

/** A check for one key part of a decoded cursor. */
export type CursorPart = (value: unknown) => boolean;

export function encodeCursor(kind: string, key: readonly string[]): string {
  return Buffer.from(JSON.stringify([kind, ...key]), "utf8").toString("base64url");
}

/** The key of a cursor of list `kind` (one value per part), or null without a cursor. */
export function decodeCursor(
  kind: string,
  cursor: string | undefined,
  parts: readonly CursorPart[],
): string[] | null {
  if (cursor === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  if (
    Array.isArray(value) &&
    value.length === parts.length + 1 &&
    value[0] === kind &&
    parts.every((ok, i) => ok(value[i + 1]))
  ) {
    return value.slice(1) as string[];
  }
  throw InvalidInput("invalid-cursor", "the cursor is not valid for this list", [
    { path: "cursor", message: "not a cursor of this list" },
  ]);
}

/**
 * One page: fetch `limit + 1` rows (the extra one says whether there is a
 * next page), keep `limit`, and the next cursor is the last kept row's.
 */
export async function fetchPage<R>(
  limit: number,
  fetch: (rows: number) => Promise<R[]>,
  cursorOf: (last: R) => string,
): Promise<{ rows: R[]; nextCursor: string | null }> {
  const rows = await fetch(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** A keyset-paged list: its cursor kind, the checks of its key parts, and a row's key. */
export interface KeysetList<R> {
  kind: string;
  parts: readonly CursorPart[];
  keyOf: (row: R) => string[];
}

/**
 * One page of a keyset list: the cursor decoded and checked (400 when it is
 * not one of this list's), `fetch(rows, after)` asked for `limit + 1` rows
 * after its key, the next cursor made from the last row kept.
 */
export async function keysetPage<K, R extends K>(
  list: KeysetList<K>,
  page: { limit: number; cursor?: string },
  fetch: (rows: number, after: string[] | null) => Promise<R[]>,
): Promise<{ rows: R[]; nextCursor: string | null }> {
  const after = decodeCursor(list.kind, page.cursor, list.parts);
  return fetchPage(
    page.limit,
    (n) => fetch(n, after),
    (last) => encodeCursor(list.kind, list.keyOf(last)),
  );
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

/**
 * A timestamp text that PostgreSQL will accept as timestamptz: a real
 * calendar date and time (JavaScript's Date.parse takes "2020-02-30" or "1",
 * PostgreSQL does not), years 1-9999. Kept as text so microseconds survive.
 */
export const isCursorTimestamp: CursorPart = (s) => {
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
};

/** An id key part: the API id rule, so nothing PostgreSQL text cannot hold. */
export const isCursorId: CursorPart = isApiId;

/** A bigint key part (audit event ids), within PostgreSQL's bigint. */
export const isCursorBigint: CursorPart = (s) =>
  typeof s === "string" && /^[1-9][0-9]{0,18}$/.test(s) && BigInt(s) <= 9223372036854775807n;
