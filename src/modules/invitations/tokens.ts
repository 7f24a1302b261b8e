import { createHash, randomBytes } from "node:crypto";

/**
 * Invitation tokens (R-I3): 32 random bytes (256 bits) as base64url. Only the
 * sha256 of a token is stored; lookups go by that hash through a unique index,
 * so no comparison ever runs over the secret itself and there is nothing whose
 * timing depends on how much of a guess was right.
 */
export const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function generateToken(): { token: string; hash: Buffer } {
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** A cheap shape check; a malformed token is reported like an unknown one. */
export function looksLikeToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}
