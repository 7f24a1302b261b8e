import type { Logger } from "pino";

/** Per-request values set by middleware. */
export interface AppVariables {
  requestId: string;
  log: Logger;
  apiKeyName?: string;
  actor?: { id: string; email: string | null };
}

export type AppEnv = { Variables: AppVariables };
