export interface CheckItem {
  user: string;
  relation: string;
  object: string;
}

export interface BatchResult {
  allowed: boolean;
  error?: string;
  /** The engine refused the item as input (OpenFGA's `input_error`): asking again cannot change it. */
  refused?: boolean;
}

/** An item the engine refused as input (asking again cannot change it); anything else is its fault. */
export function refusedInput(r: BatchResult): boolean {
  return r.error !== undefined && (r.refused === true || /invalid|not found|validation/i.test(r.error));
}

/** One item of a BatchCheck, with its own context (and time). */
export interface BatchEntry {
  item: CheckItem;
  at: Record<string, unknown>;
}

type BatchCheckAnswer = {
  result?: Record<string, { allowed?: boolean; error?: { message?: string; input_error?: string } }>;
};

/** The BatchCheck request of one chunk; correlation ids are the items' indexes from `start`. */
export function batchCheckBody(entries: BatchEntry[], start: number, modelId: string) {
  return {
    checks: entries.map((e, i) => ({ tuple_key: e.item, context: e.at, correlation_id: String(start + i) })),
    authorization_model_id: modelId,
  };
}

/** Write the answers of one chunk into `out` (an item the answer does not name keeps what is there). */
export function readBatchAnswer(res: unknown, start: number, n: number, out: BatchResult[]): void {
  for (const [id, r] of Object.entries((res as BatchCheckAnswer).result ?? {})) {
    const idx = Number(id);
    if (!(Number.isInteger(idx) && idx >= start && idx < start + n)) continue;
    out[idx] = r.error
      ? {
          allowed: false,
          error: r.error.message || "engine error",
          ...(r.error.input_error ? { refused: true } : {}),
        }
      : { allowed: r.allowed === true };
  }
}

/**
 * Server-side BatchCheck in chunks of `size` items, sent by `send` (through
 * the limiter, weight = its items). At most two chunks of one request are in
 * flight: a big batch queues behind itself, not in front of everyone. An item
 * that errors, or that no answer names, is a deny with its error; the caller
 * may retry it alone.
 */
export async function batchInChunks(
  items: CheckItem[],
  size: number,
  send: (slice: CheckItem[], start: number) => Promise<unknown>,
): Promise<BatchResult[]> {
  const out: BatchResult[] = new Array(items.length);
  const chunks: [number, CheckItem[]][] = [];
  for (let start = 0; start < items.length; start += size)
    chunks.push([start, items.slice(start, start + size)]);
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const [start, slice] = chunks[next++]!;
      readBatchAnswer(await send(slice, start), start, slice.length, out);
    }
  };
  await Promise.all([worker(), worker()]);
  for (let i = 0; i < out.length; i++) out[i] ??= { allowed: false, error: "no answer from engine" };
  return out;
}
