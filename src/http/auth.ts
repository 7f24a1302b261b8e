import { createHash, hash, randomBytes, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { ApiKeyConfig, Scope } from "../config.js";
import { problemResponse } from "./errors.js";

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A new key (256 random bits, URL-safe) and the hash to configure. */
export function generateApiKey(): { key: string; hash: string } {
  const key = `azs_${randomBytes(32).toString("base64url")}`;
  return { key, hash: hashApiKey(key) };
}

/** The configured key a request's Authorization header presents, or why there is none. */
export type KeyMatch =
  | { ok: true; name: string; scopes: readonly Scope[] }
  | { ok: false; detail: "a bearer API key is required" | "the API key is not valid" };

/**
 * Bearer API keys with scopes. Keys are configured as sha256 hashes; the
 * presented key is hashed and compared in constant time with every configured
 * hash. The key itself is never stored or logged.
 */
export function keyMatcher(keys: ApiKeyConfig[]): (authorization: string | undefined) => KeyMatch {
  const configured = keys.map((k) => ({ ...k, digest: Buffer.from(k.hash, "hex") }));
  return (header) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!m) return { ok: false, detail: "a bearer API key is required" };
    // The one-shot hash: no Hash object per request (this runs on every decision).
    const digest = hash("sha256", m[1]!, "buffer");
    let found: (typeof configured)[number] | undefined;
    for (const k of configured) {
      if (timingSafeEqual(k.digest, digest) && !found) found = k;
    }
    if (!found) return { ok: false, detail: "the API key is not valid" };
    return { ok: true, name: found.name, scopes: found.scopes };
  };
}

/** The middleware of one scope: 401 without a valid key, 403 when the key lacks the scope. */
export function apiKeyAuth(keys: ApiKeyConfig[], scope: Scope): MiddlewareHandler {
  const match = keyMatcher(keys);
  return async (c, next) => {
    const key = match(c.req.header("authorization"));
    if (!key.ok) return problemResponse(c, 401, "unauthenticated", key.detail);
    c.set("apiKeyName", key.name);
    if (!key.scopes.includes(scope)) {
      return problemResponse(c, 403, "insufficient-scope", `this API key lacks the "${scope}" scope`);
    }
    await next();
  };
}
