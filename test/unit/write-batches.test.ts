import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_TUPLES_PER_WRITE, writeBatches } from "../../src/engine/write-batches.js";
import { type Tuple, tupleKey } from "../../src/kernel/tuples.js";

const tuple: fc.Arbitrary<Tuple> = fc.record({
  user: fc.constantFrom("user:a", "user:b", "organization:o"),
  relation: fc.constantFrom("grant_viewer", "partner", "owner"),
  object: fc.integer({ min: 0, max: 80 }).map((i) => `park:p${i}`),
});
const unique = (ts: Tuple[]) => [...new Map(ts.map((t) => [tupleKey(t), t])).values()];

describe("engine write batches", () => {
  it("send every tuple once, at most 100 a request, a re-written key's delete before its write", () => {
    fc.assert(
      fc.property(fc.array(tuple, { maxLength: 300 }), fc.array(tuple, { maxLength: 300 }), (w, d) => {
        const delta = { writes: unique(w), deletes: unique(d) };
        const batches = writeBatches(delta);
        const sent = { writes: batches.flatMap((b) => b.writes), deletes: batches.flatMap((b) => b.deletes) };
        expect(sent.writes).toHaveLength(delta.writes.length);
        expect(new Set(sent.deletes)).toEqual(new Set(delta.deletes));
        for (const b of batches)
          expect(b.writes.length + b.deletes.length).toBeLessThanOrEqual(MAX_TUPLES_PER_WRITE);
        const at = (key: string, kind: "writes" | "deletes") =>
          batches.findIndex((b) => b[kind].some((t) => tupleKey(t) === key));
        for (const t of delta.writes) {
          const del = at(tupleKey(t), "deletes");
          if (del >= 0) expect(del).toBeLessThan(at(tupleKey(t), "writes"));
        }
      }),
    );
  });
});
