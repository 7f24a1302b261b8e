import { DomainError, InvalidInput } from "../kernel/errors.js";

/**
 * Coalescing of concurrent single checks into engine BatchChecks.
 *
 * Under load many decisions miss the cache in the same turn of the event loop
 * (every decision that waited for one revision read resumes together). Sent
 * one by one, each costs the sidecar an HTTP exchange and the engine an HTTP
 * request; sent as one BatchCheck (each item with its own context and time),
 * they cost one of each, and OpenFGA runs the items in parallel. Nothing
 * waits for a batch to fill: what arrived before the next `setImmediate` goes
 * together, and a check that is alone goes as a plain Check, as before.
 *
 * The answers are the engine's, item by item: an item the batch left
 * unanswered (its deadline, under load) is asked once more alone; an item it
 * refused is the same `engine-validation` error a single Check would give; a
 * batch refused as a whole (one item the engine does not accept) is split
 * into single checks, so one bad item never fails the others; a batch the
 * engine did not answer fails its items as a single Check would (503).
 */

export interface Pending<I> {
  item: I;
  at: Record<string, unknown>;
}

export interface BatchAnswer {
  allowed: boolean;
  error?: string;
  refused?: boolean;
}

interface Waiter<I> extends Pending<I> {
  resolve: (allowed: boolean) => void;
  reject: (err: unknown) => void;
}

export class CheckCoalescer<I> {
  private pending: Waiter<I>[] = [];
  private scheduled = false;
  /** Engine calls made and checks they carried (for tests and metrics). */
  readonly stats = { singles: 0, batches: 0, batchedChecks: 0 };

  constructor(
    private readonly maxBatch: number,
    private readonly single: (item: I, at: Record<string, unknown>) => Promise<boolean>,
    private readonly batch: (group: Pending<I>[]) => Promise<BatchAnswer[]>,
  ) {}

  check(item: I, at: Record<string, unknown>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ item, at, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += this.maxBatch) {
      const group = all.slice(i, i + this.maxBatch);
      if (group.length === 1) this.alone(group[0]!);
      else void this.together(group);
    }
  }

  private alone(w: Waiter<I>): void {
    this.stats.singles++;
    this.single(w.item, w.at).then(w.resolve, w.reject);
  }

  private async together(group: Waiter<I>[]): Promise<void> {
    this.stats.batches++;
    this.stats.batchedChecks += group.length;
    let answers: BatchAnswer[];
    try {
      answers = await this.batch(group.map(({ item, at }) => ({ item, at })));
    } catch (err) {
      if (err instanceof DomainError && err.code === "engine-validation") {
        for (const w of group) this.alone(w);
      } else {
        for (const w of group) w.reject(err);
      }
      return;
    }
    group.forEach((w, j) => {
      const a = answers[j];
      if (a && !a.error) w.resolve(a.allowed);
      else if (a?.refused)
        w.reject(InvalidInput("engine-validation", a.error ?? "the engine refused the check"));
      else this.alone(w);
    });
  }
}
