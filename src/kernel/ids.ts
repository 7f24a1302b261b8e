import { randomUUID } from "node:crypto";

/**
 * The one id rule (API.md): 1-128 characters of `[A-Za-z0-9._@:|-]`, the same
 * check the id columns carry in the database. The edge also refuses `.` and
 * `..`, which a URL path cannot address (dot segments).
 */
export const API_ID = /^[A-Za-z0-9._@:|-]{1,128}$/;

/** A server-generated id: `<prefix>_<random hex>` (organizations, portfolios, cooperations, invitations). */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll("-", "")}`;
}

export const API_ID_MESSAGE = "1-128 characters of [A-Za-z0-9._@:|-]";

export const isDotSegment = (s: string) => s === "." || s === "..";

/** An id the API accepts: the charset, and not a dot segment. */
export const isApiId = (s: unknown): s is string =>
  typeof s === "string" && API_ID.test(s) && !isDotSegment(s);
