import pino, { type Logger } from "pino";

/**
 * JSON logs. Secrets and personal data are redacted wherever they might be
 * logged by mistake: authorization headers, API keys, invitation tokens, emails.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "authz-sidecar" },
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "headers.authorization",
        "req.headers.authorization",
        "token",
        "*.token",
        "apiKey.key",
        "email",
        "*.email",
        "actorEmail",
      ],
      censor: "[redacted]",
    },
  });
}
