import { describe, expect, it } from "vitest";
import { ConfigError, configSchema, loadConfig } from "../../src/config.js";

describe("configuration", () => {
  it("has working defaults when nothing is set", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8787);
    expect(c.API_KEYS).toEqual([]);
    expect(c.MAX_BATCH_EVALUATIONS).toBe(200);
  });

  it("parses API keys with scopes and sha256 hashes", () => {
    const hash = "a".repeat(64);
    const c = loadConfig({ API_KEYS: `svc:decide:${hash}, admin:decide+manage:${hash}` });
    expect(c.API_KEYS).toEqual([
      { name: "svc", scopes: ["decide"], hash },
      { name: "admin", scopes: ["decide", "manage"], hash },
    ]);
  });

  it.each([
    ["PORT", "not-a-port"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["OPENFGA_API_URL", "nope"],
    ["API_KEYS", "svc:decide:short"],
    ["API_KEYS", `svc:admin:${"a".repeat(64)}`],
    ["LOG_LEVEL", "loud"],
    ["INVITATION_TTL_DAYS", "31"],
  ])("names the variable when %s=%s is bad", (name, value) => {
    try {
      loadConfig({ [name]: value });
      expect.unreachable("should have thrown");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.variable)).toContain(name);
      expect((err as Error).message).toContain(name);
    }
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "" }).PORT).toBe(8787);
  });

  it("documents every variable in the README", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    for (const key of Object.keys(configSchema.shape)) expect(readme, key).toContain(`\`${key}\``);
  });
});
