import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/kernel/errors.js";
import {
  decodeCursor,
  encodeCursor,
  fetchPage,
  isCursorBigint,
  isCursorId,
  isCursorTimestamp,
  keysetPage,
} from "../../src/kernel/paging.js";

const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError && err.code === "invalid-cursor";
  }
  return false;
};

describe("the one cursor codec", () => {
  const id = fc.stringMatching(/^[A-Za-z0-9._@:|-]{1,40}$/).filter((s) => s !== "." && s !== "..");

  it("decodes what it encodes, for its own list only", () => {
    fc.assert(
      fc.property(id, id, (a, b) => {
        const c = encodeCursor("members", [a, b]);
        expect(decodeCursor("members", c, [isCursorId, isCursorId])).toEqual([a, b]);
        expect(refused(() => decodeCursor("grants", c, [isCursorId, isCursorId]))).toBe(true);
        expect(refused(() => decodeCursor("members", c, [isCursorId]))).toBe(true);
      }),
    );
  });

  it("no cursor is the first page; anything else not made here is 400 invalid-cursor", () => {
    expect(decodeCursor("members", undefined, [isCursorId])).toBeNull();
    fc.assert(
      fc.property(fc.string(), (s) => {
        const decoded = (() => {
          try {
            return decodeCursor("members", s, [isCursorId]);
          } catch (err) {
            expect((err as DomainError).code).toBe("invalid-cursor");
            return "refused";
          }
        })();
        // Only a well-formed cursor of this list decodes.
        if (decoded !== "refused") expect(encodeCursor("members", decoded!)).toBe(s.replace(/=+$/, ""));
      }),
    );
    for (const bad of [
      encodeCursor("members", ["\u0000"]),
      encodeCursor("audit-events", ["0"]),
      encodeCursor("audit-events", ["99999999999999999999"]),
      encodeCursor("cooperations", ["2020-02-30T00:00:00Z", "x"]),
    ]) {
      expect(
        refused(() => decodeCursor("members", bad, [isCursorId])) &&
          refused(() => decodeCursor("audit-events", bad, [isCursorBigint])) &&
          refused(() => decodeCursor("cooperations", bad, [isCursorTimestamp, isCursorId])),
      ).toBe(true);
    }
  });

  it("fetchPage asks for one row more than the page and names the last kept row's cursor", async () => {
    const rows = [1, 2, 3, 4, 5];
    for (let limit = 1; limit <= 6; limit++) {
      let asked = 0;
      const page = await fetchPage(
        limit,
        async (n) => {
          asked = n;
          return rows.slice(0, n);
        },
        (last) => `after-${last}`,
      );
      expect(asked).toBe(limit + 1);
      expect(page.rows).toEqual(rows.slice(0, limit));
      expect(page.nextCursor).toBe(limit < rows.length ? `after-${limit}` : null);
    }
  });
});

describe("keysetPage: one page of a keyset list", () => {
  const LIST = { kind: "things", parts: [isCursorId], keyOf: (r: { id: string }) => [r.id] };
  const rows = ["a", "b", "c", "d", "e"].map((id) => ({ id, n: id.charCodeAt(0) }));
  const fetch = async (n: number, after: string[] | null) =>
    rows.filter((r) => after === null || r.id > after[0]!).slice(0, n);

  it("walks the list page by page with the cursor it made, passing each page's key to the fetch", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await keysetPage(LIST, { limit: 2, cursor }, fetch);
      seen.push(...page.rows.map((r) => r.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("a cursor of another list is 400 invalid-cursor before anything is fetched", async () => {
    let fetched = false;
    const other = encodeCursor("members", ["a"]);
    await expect(
      keysetPage(LIST, { limit: 2, cursor: other }, async () => {
        fetched = true;
        return [];
      }),
    ).rejects.toMatchObject({ code: "invalid-cursor" });
    expect(fetched).toBe(false);
  });
});
