export interface CheckItem {
  user: string;
  relation: string;
  object: string;
}

export interface BatchResult {
  allowed: boolean;
  error?: string;
}

type BatchCheckAnswer = { result?: Record<string, { allowed?: boolean; error?: { message?: string } }> };

/** The BatchCheck request of one chunk; correlation ids are the items' indexes in the whole batch. */
export function batchCheckBody(
  slice: CheckItem[],
  start: number,
  at: Record<string, unknown>,
  modelId: string,
) {
  return {
    checks: slice.map((it, i) => ({ tuple_key: it, context: at, correlation_id: String(start + i) })),
    authorization_model_id: modelId,
  };
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
      const res = (await send(slice, start)) as BatchCheckAnswer;
      for (const [id, r] of Object.entries(res.result ?? {})) {
        const idx = Number(id);
        if (!(idx >= start && idx < start + slice.length)) continue;
        out[idx] = r.error
          ? { allowed: false, error: r.error.message || "engine error" }
          : { allowed: r.allowed === true };
      }
    }
  };
  await Promise.all([worker(), worker()]);
  for (let i = 0; i < out.length; i++) out[i] ??= { allowed: false, error: "no answer from engine" };
  return out;
}
