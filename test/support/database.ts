import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";

/** A database cloned from the migrated template, dropped by the returned function. */
export async function cloneDatabase(): Promise<{ dbName: string; url: string; drop: () => Promise<void> }> {
  const server = inject("databaseUrl");
  const dbName = `authz_t_${inject("runId")}_${randomUUID().slice(0, 8)}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName} template ${inject("templateDb")}`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${dbName}`;
  return {
    dbName,
    url: u.toString(),
    drop: async () => {
      const a = postgres(server, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
      await a.end();
    },
  };
}
