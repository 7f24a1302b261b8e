import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { statusAt } from "../../src/modules/invitations/lifecycle.js";
import type { InvitationRow } from "../../src/modules/invitations/repo.js";
import { CreateInvitationSchema } from "../../src/modules/invitations/schemas.js";
import { generateToken, hashToken, looksLikeToken } from "../../src/modules/invitations/tokens.js";
import { backoffMs, signature } from "../../src/modules/invitations/worker.js";

describe("invitation tokens (R-I3)", () => {
  it("R-I3 carries 256 random bits, URL-safe, with a sha256 hash", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { token, hash } = generateToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, "base64url")).toHaveLength(32);
      expect(hash).toEqual(hashToken(token));
      expect(hash).toHaveLength(32);
      expect(looksLikeToken(token)).toBe(true);
      seen.add(token);
    }
    expect(seen.size).toBe(200);
  });

  it("R-I3 different tokens never share a hash; malformed tokens are recognised", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        if (a !== b) expect(hashToken(a).equals(hashToken(b))).toBe(false);
      }),
    );
    for (const bad of ["", "short", "a".repeat(44), `${"a".repeat(42)}=`, `${"a".repeat(42)}/`])
      expect(looksLikeToken(bad)).toBe(false);
  });
});

describe("invitation status at read time (R-I4)", () => {
  const row = (status: InvitationRow["status"], expiresAt: Date) =>
    ({ status, expires_at: expiresAt }) as InvitationRow;
  const now = new Date("2026-01-01T00:00:00Z");

  it("R-I4 a pending invitation reads as expired from its expiry instant on", () => {
    expect(statusAt(row("pending", new Date(now.getTime() + 1)), now)).toBe("pending");
    expect(statusAt(row("pending", now), now)).toBe("expired");
    expect(statusAt(row("pending", new Date(now.getTime() - 1)), now)).toBe("expired");
  });

  it("R-I4 terminal states stay as they are after expiry", () => {
    for (const s of ["accepted", "declined", "revoked", "expired"] as const)
      expect(statusAt(row(s, new Date(0)), now)).toBe(s);
  });
});

describe("creation schema", () => {
  it("R-I4 accepts lifetimes of 1-30 days only; lower-cases emails (R-I2)", () => {
    const base = { type: "organization", organizationId: "org_1", email: "A@B.Example", role: "member" };
    expect(CreateInvitationSchema.parse(base)).toMatchObject({ email: "a@b.example" });
    for (const d of [0, 31, 1.5])
      expect(CreateInvitationSchema.safeParse({ ...base, expiresInDays: d }).success).toBe(false);
    for (const d of [1, 30])
      expect(CreateInvitationSchema.safeParse({ ...base, expiresInDays: d }).success).toBe(true);
  });

  it("cooperation partners are an organization id or an email; shares need a known type and level", () => {
    const coop = { type: "cooperation", organizationId: "org_1", shares: [] };
    expect(CreateInvitationSchema.safeParse({ ...coop, partner: { organizationId: "org_2" } }).success).toBe(
      true,
    );
    expect(CreateInvitationSchema.safeParse({ ...coop, partner: { email: "x@y.z" } }).success).toBe(true);
    expect(CreateInvitationSchema.safeParse({ ...coop, partner: {} }).success).toBe(false);
    const share = (type: string, level: string) => ({
      ...coop,
      partner: { organizationId: "o" },
      shares: [{ resource: { type, id: "p1" }, level }],
    });
    expect(CreateInvitationSchema.safeParse(share("park", "operator")).success).toBe(true);
    expect(CreateInvitationSchema.safeParse(share("organization", "viewer")).success).toBe(false);
    expect(CreateInvitationSchema.safeParse(share("park", "admin")).success).toBe(false);
  });
});

describe("webhook signing and backoff (R-I10)", () => {
  it("R-I10 signs timestamp.body with HMAC-SHA256", () => {
    const sig = signature("secret", "1700000000", '{"a":1}');
    expect(sig).toBe(`sha256=${createHmac("sha256", "secret").update('1700000000.{"a":1}').digest("hex")}`);
    expect(signature("secret", "1700000001", '{"a":1}')).not.toBe(sig);
  });

  it("R-I10 backs off exponentially up to the cap", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), (n) => {
        expect(backoffMs(n + 1, 100, 60_000)).toBeGreaterThanOrEqual(backoffMs(n, 100, 60_000));
      }),
    );
  });
});
