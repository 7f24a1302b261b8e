import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { API_ID, decodeId, decodeObject, encodeId, engineObject, engineUser } from "../../src/engine/ids.js";
import { parkTuples } from "../../src/kernel/tuples.js";

const CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@:|-";

/** Any API.md id, biased towards the characters that matter (`:` and the escape's neighbours). */
const apiId = fc
  .array(fc.oneof(fc.constantFrom(...CHARSET), fc.constantFrom(":", ":", "|", "@", ".", "-")), {
    minLength: 1,
    maxLength: 128,
  })
  .map((cs) => cs.join(""));

/** OpenFGA's own rules for an object `type:id` (pkg/tuple IsValidObject; API object cap of 256). */
const OPENFGA_OBJECT = /^[^:#\s\p{Cc}]+:[^#:\s\p{Cc}]+$/u;
/** …and for a user id (IsValidUserID: no `:`, `#`, whitespace or control characters). */
const OPENFGA_USER_ID = /^[^:#\s\p{Cc}]+$/u;

describe("engine id encoding", () => {
  it("round-trips every API id", () => {
    fc.assert(
      fc.property(apiId, (id) => {
        expect(decodeId(encodeId(id))).toBe(id);
      }),
    );
  });

  it("is injective: different ids never share an engine id", () => {
    fc.assert(
      fc.property(apiId, apiId, (a, b) => {
        fc.pre(a !== b);
        expect(encodeId(a)).not.toBe(encodeId(b));
      }),
    );
  });

  it("always yields what OpenFGA accepts as an object and user id, within its 256-character cap", () => {
    fc.assert(
      fc.property(
        apiId,
        fc.constantFrom("user", "park", "portfolio", "organization", "cooperation"),
        (id, t) => {
          const encoded = encodeId(id);
          expect(encoded).toMatch(OPENFGA_USER_ID);
          expect(engineObject(t, id)).toMatch(OPENFGA_OBJECT);
          expect(engineObject(t, id).length).toBeLessThanOrEqual(256);
          expect(encoded).not.toBe("*");
        },
      ),
    );
  });

  it("leaves ids without ':' unchanged (readable in the store)", () => {
    fc.assert(
      fc.property(apiId, (id) => {
        fc.pre(!id.includes(":"));
        expect(encodeId(id)).toBe(id);
      }),
    );
    expect(encodeId("urn:park:42")).toBe("urn~park~42");
  });

  it("decodes engine objects from ListObjects answers", () => {
    fc.assert(
      fc.property(apiId, (id) => {
        expect(decodeObject(engineObject("park", id))).toEqual({ type: "park", id });
      }),
    );
  });

  it("refuses ids outside the API charset (a bug upstream, never silently collided)", () => {
    for (const bad of ["", "a~b", "a#b", "a b", "x".repeat(129), "ä"]) {
      expect(API_ID.test(bad)).toBe(false);
      expect(() => encodeId(bad)).toThrow(RangeError);
    }
  });

  it("is what the tuple mappers write", () => {
    const id = "site:a|b@c_d-e.";
    expect(parkTuples({ id, organizationId: "o:1", portfolioId: "pf:1" })).toEqual([
      { user: "organization:o~1", relation: "owner", object: "park:site~a|b@c_d-e." },
      { user: "portfolio:pf~1", relation: "portfolio", object: "park:site~a|b@c_d-e." },
    ]);
    expect(engineUser("u:1")).toBe("user:u~1");
  });
});
