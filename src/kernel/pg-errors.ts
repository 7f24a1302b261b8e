/**
 * The one reading of PostgreSQL (and driver) error codes: the SQLSTATEs the
 * service acts on, by name. Pure, so http/ (which may not import db/) maps
 * them too (http/errors.ts databaseTrouble for connection trouble).
 */
export const PG = {
  foreignKeyViolation: "23503",
  uniqueViolation: "23505",
  checkViolation: "23514",
  serializationFailure: "40001",
  deadlockDetected: "40P01",
  /** postgres.js: the pool was closed (shutdown, a test's end). */
  connectionEnded: "CONNECTION_ENDED",
} as const;

/** The SQLSTATE (or driver code) of an error, "" when it has none. */
export function pgCode(err: unknown): string {
  return String((err as { code?: unknown } | null | undefined)?.code ?? "");
}

export const isPgError = (err: unknown, ...codes: string[]): boolean => codes.includes(pgCode(err));

/** A deadlock or serialization failure: the transaction was aborted and may run again. */
export const isRetryableConflict = (err: unknown): boolean =>
  isPgError(err, PG.deadlockDetected, PG.serializationFailure);
