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
  return pino(options, destination ?? stdout());
}

/**
 * Standard output, written asynchronously in blocks of 4 KiB and at least
 * every 200 ms: under load one write carries many lines instead of a syscall
 * per request line; when quiet a line waits at most 200 ms. pino flushes
 * synchronously at exit, so only a killed process can lose the last block.
 */
function stdout(): pino.DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      dest.flush();
    } catch {
      // Destroyed at exit: nothing left to flush.
    }
  }, 200).unref();
  return dest;
}

const access = new WeakMap<Logger, Logger>();

/**
 * The logger of the one wide line per request: the same destination and level
 * as `log`, without redaction, because that line is built from fixed fields
 * that never hold a secret (method, route, status, duration, actor id, API key
 * name, request and trace ids), and redacting every request's line was a
 * visible share of a cached decision's CPU. Everything else logs through `log`.
 */
export function accessLogger(log: Logger): Logger {
  let a = access.get(log);
  if (!a) {
    a = pino(
      { level: log.level, base: { service: "authz-sidecar" } },
      (log as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym],
    );
    access.set(log, a);
  }
  return a;
}
