import pino, { type Logger } from "pino";

/**
 * JSON logs. Secrets and personal data are redacted wherever they might be
 * logged by mistake: authorization headers, API keys, invitation tokens, emails.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
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
        // Deeper mistakes: a nested object or a whole request logged.
        "*.*.authorization",
        "*.*.token",
        "*.*.email",
        "cookie",
        "*.cookie",
        "*.*.cookie",
        "*.apiKey.key",
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
