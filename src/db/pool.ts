import postgres from "postgres";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

export interface DbOptions {
  url: string;
  max: number;
}

/** The one pool. Embedded PGlite is a single session, so callers pass max: 1 in that mode. */
export function createDb({ url, max }: DbOptions): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    idle_timeout: 30,
    connect_timeout: 5,
    types: { bigint: postgres.BigInt },
    transform: { undefined: null },
  });
}

export async function pingDb(sql: Sql): Promise<void> {
  await sql`select 1`;
}
