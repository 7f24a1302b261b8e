import { DomainError, InvalidInput } from "../kernel/errors.js";

/**
 * Coalescing of concurrent single checks into engine BatchChecks.
 *
 * While fewer than `maxRequests` check requests are in flight and the engine
 * has a free slot, a check goes at once as a plain Check: a batch answers
 * only when its slowest item does, so batching a quiet engine would only add
 * latency. Beyond that, checks that would go one by one are gathered until
 * one of the requests in flight answers (or a slot is released, or a batch is
 * full) and sent as one BatchCheck, each item with its own context and time:
 * one HTTP exchange for the sidecar and one request for the engine instead of
 * one each. A busy engine spends about a tenth less CPU per check in batches
 * (bench/README.md, run 6), and under overload this is what holds goodput up.
 * The batch then goes through the limiter like any call (its queue bound and
 * wait budget).
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
  /** Check and BatchCheck requests of this coalescer that have not answered yet. */
  private inFlight = 0;
  /** Engine calls made and checks they carried (for tests and metrics). */
  readonly stats = { singles: 0, batches: 0, batchedChecks: 0 };

  constructor(
    private readonly maxBatch: number,
    /** Whether a check sent now would get an engine slot without waiting. */
    private readonly slotFree: () => boolean,
    /** Call back once, when the next engine slot is released. */
    private readonly whenSlotFree: (cb: () => void) => void,
    private readonly single: (item: I, at: Record<string, unknown>) => Promise<boolean>,
    private readonly batch: (group: Pending<I>[]) => Promise<BatchAnswer[]>,
    /** Check requests in flight beyond which checks are gathered (Infinity: only when the engine is full). */
    private readonly maxRequests = Number.POSITIVE_INFINITY,
  ) {}

  check(item: I, at: Record<string, unknown>): Promise<boolean> {
    if (this.pending.length === 0 && this.inFlight < this.maxRequests && this.slotFree()) {
      this.stats.singles++;
      return this.track(this.single(item, at));
    }
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ item, at, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        this.whenSlotFree(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Count a request in flight; when it answers, what gathered meanwhile goes. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight++;
    const done = () => {
      this.inFlight--;
      if (this.pending.length > 0) this.flush();
    };
    p.then(done, done);
    return p;
  }

  private flush(): void {
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
    this.track(this.single(w.item, w.at)).then(w.resolve, w.reject);
  }

  private async together(group: Waiter<I>[]): Promise<void> {
    this.stats.batches++;
    this.stats.batchedChecks += group.length;
    let answers: BatchAnswer[];
    try {
      answers = await this.track(this.batch(group.map(({ item, at }) => ({ item, at }))));
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
