/**
 * Typed domain errors. Domain code throws these with a stable kebab-case code
 * and knows nothing of HTTP; http/errors.ts maps the kind to a status.
 */
export type ErrorKind =
  | "invalid-input"
  | "unauthenticated"
  | "forbidden"
  | "not-found"
  | "conflict"
  | "gone"
  | "unavailable";

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly extra: { errors?: FieldError[]; [k: string]: unknown } = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const InvalidInput = (code: string, message: string, errors?: FieldError[]) =>
  new DomainError("invalid-input", code, message, errors ? { errors } : {});
export const Forbidden = (code: string, message: string) => new DomainError("forbidden", code, message);
export const NotFound = (code: string, message: string) => new DomainError("not-found", code, message);
export const Conflict = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  new DomainError("conflict", code, message, extra);
export const Gone = (code: string, message: string) => new DomainError("gone", code, message);
export const Unavailable = (code: string, message: string) => new DomainError("unavailable", code, message);
