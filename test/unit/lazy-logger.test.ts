import pino from "pino";
import { describe, expect, it } from "vitest";
import { lazyChild } from "../../src/http/middleware.js";

describe("the request logger is made on first use", () => {
  it("makes no child until something logs, then logs with the bindings like log.child", () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    let made = 0;
    const child = log.child;
    log.child = function (this: pino.Logger, b: pino.Bindings) {
      made++;
      return child.call(this, b);
    } as typeof log.child;
    const lazy = lazyChild(log, { requestId: "r-1" });
    lazy.debug({ skipped: true }, "below the level");
    expect(made).toBe(0);
    lazy.warn({ code: "x" }, "hello");
    lazy.info("again");
    expect(made).toBe(1);
    lazy.child({ more: 1 }).info("nested");
    expect(made).toBe(2);
    expect(lines.some((l) => l.skipped)).toBe(false);
    expect(lines[0]).toMatchObject({ requestId: "r-1", code: "x", msg: "hello", level: 40 });
    expect(lines[2]).toMatchObject({ requestId: "r-1", more: 1, msg: "nested" });
    expect(lazy.level).toBe("info");
    expect(lazy.isLevelEnabled("debug")).toBe(false);
  });
});
