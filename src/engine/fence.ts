/**
 * The revision fence of the decision cache. A decision may use a cached
 * answer only if that answer was computed at a revision at least as new as
 * one read *after* the decision arrived (bench/README.md, "Why the cache is
 * never stale"). Reads are shared: one read is in flight at a time, and every
 * decision that arrives while it runs waits for the next one, which starts
 * when the current one ends. So a burst of decisions costs two reads, and each
 * decision waits for at most two database round trips.
 */
export class RevisionFence<S> {
  private running: Promise<S> | null = null;
  private queued: Promise<S> | null = null;
  /** Reads started (for the `authz_decision_revision_reads_total` metric). */
  reads = 0;

  constructor(private readonly read: () => Promise<S>) {}

  /** A state read that started after this call. */
  current(): Promise<S> {
    if (!this.running) return this.start();
    if (!this.queued) {
      const after = this.running.then(
        () => undefined,
        () => undefined,
      );
      this.queued = after.then(() => {
        this.queued = null;
        return this.start();
      });
    }
    return this.queued;
  }

  private start(): Promise<S> {
    this.reads++;
    const p = this.read();
    this.running = p;
    const clear = () => {
      if (this.running === p) this.running = null;
    };
    p.then(clear, clear);
    return p;
  }
}
