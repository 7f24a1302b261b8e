import { DomainError } from "../domain/errors.js";

/**
 * Bounds the engine work in flight (in check units: a BatchCheck of n items
 * weighs n) with a short queue behind it. Beyond the queue, or after waiting
 * past the caller's deadline, the call is refused at once with 503
 * `engine-overloaded` and Retry-After: shedding keeps the engine inside its
 * connection pool instead of letting every request time out together.
 */
export class Limiter {
  private inFlight = 0;
  private readonly queue: { weight: number; grant: () => void; reject: (e: Error) => void }[] = [];
  private queued = 0;

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
    try {
      return await fn();
    } finally {
      this.release(w);
    }
  }

  private acquire(weight: number, waitMs: number): Promise<void> {
    if (this.queue.length === 0 && this.inFlight + weight <= this.capacity) {
      this.inFlight += weight;
      return Promise.resolve();
    }
    if (this.queued + weight > this.queueMax) return Promise.reject(overloaded());
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
  }
}

export function overloaded(): DomainError {
  return new DomainError(
    "unavailable",
    "engine-overloaded",
    "the authorization engine is at capacity; retry",
  );
}
