import type { Logger } from "pino";

/** Per-request values set by middleware. */
export interface AppVariables {
  requestId: string;
  log: Logger;
  apiKeyName?: string;
  actor?: { id: string; email: string | null };
  /** The problem code of an error answer, for the request's log line. */
  problemCode?: string;
}

export type AppEnv = { Variables: AppVariables };
