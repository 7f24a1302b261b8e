import { DomainError } from "../kernel/errors.js";

/**
 * Bounds the engine work in flight (in check units: a BatchCheck of n items
 * weighs n) with a short queue behind it. A call is refused at once with 503
 * `engine-overloaded` and Retry-After when the queue is full or when its
 * predicted wait (the units ahead of it × how long a unit has recently held
 * its slot ÷ capacity) exceeds the wait budget; a call that still waits past
 * the budget is refused then. The engine call's own timeout starts only when
 * it holds a slot, so waiting never eats into it: under overload an answer is
 * either a 2xx within budget + call time or a fast, honest 503, never a
 * timeout that wasted an engine slot.
 */
export class Limiter {
  private inFlight = 0;
  private readonly queue: { weight: number; grant: () => void; reject: (e: Error) => void }[] = [];
  private queued = 0;
  private onRelease: (() => void)[] = [];
  /** Recent time (ms) a unit held its slot: an exponentially weighted mean of call durations. */
  private holdMs = 0;

  constructor(
    readonly capacity: number,
    /** Queued check units beyond `capacity`; 0 = refuse as soon as the engine is full. */
    readonly queueMax: number,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queued;
  }

  async run<T>(weight: number, waitMs: number, fn: () => Promise<T>): Promise<T> {
    const w = Math.max(1, Math.min(weight, this.capacity));
    await this.acquire(w, waitMs);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      const took = performance.now() - started;
      this.holdMs = this.holdMs === 0 ? took : this.holdMs + HOLD_ALPHA * (took - this.holdMs);
      this.release(w);
    }
  }

  /** How long a call of `weight` units arriving now would wait for a slot, by recent hold times. */
  predictedWaitMs(weight: number): number {
    return ((this.queued + weight) * this.holdMs) / this.capacity;
  }

  private acquire(weight: number, waitMs: number): Promise<void> {
    if (this.queue.length === 0 && this.inFlight + weight <= this.capacity) {
      this.inFlight += weight;
      return Promise.resolve();
    }
    if (this.queued + weight > this.queueMax || this.predictedWaitMs(weight) > waitMs)
      return Promise.reject(overloaded());
    return new Promise<void>((resolve, reject) => {
      const entry = {
        weight,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
        reject,
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) {
          this.queue.splice(i, 1);
          this.queued -= weight;
          reject(overloaded());
        }
      }, waitMs);
      this.queue.push(entry);
      this.queued += weight;
    });
  }

  private release(weight: number): void {
    this.inFlight -= weight;
    while (this.queue.length > 0 && this.inFlight + this.queue[0]!.weight <= this.capacity) {
      const next = this.queue.shift()!;
      this.queued -= next.weight;
      this.inFlight += next.weight;
      next.grant();
    }
    if (this.onRelease.length > 0) {
      const waiting = this.onRelease;
      this.onRelease = [];
      for (const cb of waiting) cb();
    }
  }

  /** Call `cb` once, at the next release of a slot. */
  whenReleased(cb: () => void): void {
    this.onRelease.push(cb);
  }
}

const HOLD_ALPHA = 0.05;

export function overloaded(): DomainError {
  return new DomainError(
    "unavailable",
    "engine-overloaded",
    "the authorization engine is at capacity; retry",
  );
}
