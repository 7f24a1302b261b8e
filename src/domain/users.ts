import type { Sql, Tx } from "../db/pool.js";

/**
 * Record an actor the first time it is seen; a verified email given later
 * fills in or replaces the stored one (emails are stored lower-cased).
 */
export async function ensureUser(tx: Tx | Sql, id: string, email: string | null): Promise<void> {
  if (email) {
    await tx`insert into users (id, email) values (${id}, ${email})
      on conflict (id) do update set email = excluded.email, updated_at = now()
      where users.email is distinct from excluded.email`;
  } else {
    await tx`insert into users (id) values (${id}) on conflict (id) do nothing`;
  }
}

/**
 * Every management request records its actor (and a newly verified email)
 * before anything else, in one statement of its own: being seen is not a
 * domain change, so it is kept even when the verb is then refused, and it
 * writes no audit record (API.md "Authentication").
 */
export async function recordActor(sql: Sql, id: string, email: string | null): Promise<void> {
  await ensureUser(sql, id, email);
}
