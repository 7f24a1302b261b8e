import { type Delta, type Tuple, tupleKey } from "../kernel/tuples.js";

/** OpenFGA's limit of tuples in one Write request (server default). */
export const MAX_TUPLES_PER_WRITE = 100;

/**
 * Split a delta into Write requests of at most MAX_TUPLES_PER_WRITE tuples,
 * in the order they must be sent: a key deleted and written in the same delta
 * (a changed condition) is deleted in an earlier request than it is written;
 * the other deletes and the writes follow.
 */
export function writeBatches(delta: Delta): Delta[] {
  const writeKeys = new Set(delta.writes.map(tupleKey));
  const first = delta.deletes.filter((t) => writeKeys.has(tupleKey(t)));
  const rest = delta.deletes.filter((t) => !writeKeys.has(tupleKey(t)));
  const batches: Delta[] = [];
  for (let i = 0; i < first.length; i += MAX_TUPLES_PER_WRITE) {
    batches.push({ writes: [], deletes: first.slice(i, i + MAX_TUPLES_PER_WRITE) });
  }
  const ops: { kind: "w" | "d"; t: Tuple }[] = [
    ...rest.map((t) => ({ kind: "d" as const, t })),
    ...delta.writes.map((t) => ({ kind: "w" as const, t })),
  ];
  for (let i = 0; i < ops.length; i += MAX_TUPLES_PER_WRITE) {
    const slice = ops.slice(i, i + MAX_TUPLES_PER_WRITE);
    batches.push({
      writes: slice.filter((o) => o.kind === "w").map((o) => o.t),
      deletes: slice.filter((o) => o.kind === "d").map((o) => o.t),
    });
  }
  return batches;
}
