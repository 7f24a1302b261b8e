import type { Sql, Tx } from "../../db/pool.js";

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
