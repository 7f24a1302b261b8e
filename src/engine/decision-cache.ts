import type { Sql } from "../db/pool.js";
import { type RevisionState, readRevision } from "../engine-sync/revision.js";
import { Unavailable } from "../kernel/errors.js";
import { metrics } from "../metrics.js";
import { refusedInput } from "./batch-check.js";
import type { BatchResult, CheckItem, Engine } from "./client.js";
import { RevisionFence } from "./fence.js";

/** A cached answer; an allow is good `until` the next cooperation expiry seen when it was computed (ms). */
type Entry = { allowed: boolean; revision: number; until: number };
/** An engine call in flight that later decisions of the same revision may share. */
type Flight = { revision: number; until: number; answer: Promise<boolean> };

type At = Record<string, unknown> & { current_time: string };

/**
 * Decisions through a bounded LRU that is never stale (R-G1).
 *
 * Freshness: every engine write is followed by `nextval('engine_revision')`
 * before its change commits or answers (src/engine-sync/revision.ts). A decision
 * first reads the revision *after it arrived* (RevisionFence); a cached
 * answer counts only if it was computed from an engine call that started
 * after reading a revision at least as new. Any change that answered 2xx
 * before the decision arrived advanced the revision after its engine write,
 * so such an answer reflects it. While a change is open (journal row present:
 * in flight, or failed and not yet repaired) nothing is served from or put in
 * the cache. Allows stop at the next cooperation expiry (not_expired turns
 * them into denies with time alone); denies cannot turn into allows with time
 * in the built-in model. Concurrent misses for one key share one engine call
 * when that call is fresh enough for each of them.
 *
 * Without a fence (DECISION_CACHE_SIZE=0, a custom MODEL_FILE, or embedded
 * PGlite without a journal) it is a pass-through that still deduplicates the
 * items of one batch and retries errored batch items once.
 */
export class DecisionCache {
  private readonly lru = new Map<string, Entry>();
  private readonly flights = new Map<string, Flight>();

  constructor(
    readonly engine: Engine,
    readonly size = 0,
    private readonly fence?: RevisionFence<RevisionState>,
  ) {}

  get enabled(): boolean {
    return this.size > 0 && this.fence !== undefined;
  }

  get entries(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }

  private key(item: CheckItem): string {
    return `${this.engine.modelId}\n${item.user}\n${item.relation}\n${item.object}`;
  }

  /** The fence state, or undefined when the cache must be bypassed for this decision. */
  private async state(): Promise<RevisionState | undefined> {
    if (!this.enabled || this.engine.downSince !== null) return undefined;
    try {
      const s = await this.fence!.current();
      return s.changesOpen ? undefined : s;
    } catch {
      // The database is away: the engine alone is always fresh.
      metrics().revisionReadErrors.inc();
      return undefined;
    }
  }

  private lookup(key: string, s: RevisionState, nowMs: number): Entry | Flight | undefined {
    const e = this.lru.get(key);
    if (e && e.revision >= s.revision && (!e.allowed || nowMs < e.until)) {
      this.lru.delete(key);
      this.lru.set(key, e);
      return e;
    }
    const f = this.flights.get(key);
    if (f && f.revision >= s.revision && nowMs < f.until) return f;
    return undefined;
  }

  private store(key: string, s: RevisionState, allowed: boolean): void {
    const prev = this.lru.get(key);
    if (prev && prev.revision > s.revision) return;
    this.lru.delete(key);
    this.lru.set(key, { allowed, revision: s.revision, until: allowed ? s.nextExpiry : Infinity });
    if (this.lru.size > this.size) this.lru.delete(this.lru.keys().next().value!);
  }

  private fly(key: string, s: RevisionState, answer: Promise<boolean>): Promise<boolean> {
    const flight: Flight = { revision: s.revision, until: s.nextExpiry, answer };
    this.flights.set(key, flight);
    const done = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    answer.then((allowed) => {
      done();
      this.store(key, s, allowed);
    }, done);
    return answer;
  }

  async check(item: CheckItem, at: At): Promise<boolean> {
    const s = await this.state();
    const m = metrics();
    if (!s) {
      m.decisionCacheMisses.inc();
      return this.engine.check(item, at);
    }
    const key = this.key(item);
    const found = this.lookup(key, s, Date.parse(at.current_time));
    if (found) {
      m.decisionCacheHits.inc();
      return "answer" in found ? found.answer : found.allowed;
    }
    m.decisionCacheMisses.inc();
    return this.fly(key, s, this.engine.check(item, at));
  }

  /** Many decisions at one time: hits from the cache, each distinct miss asked once. */
  async batchCheck(items: CheckItem[], at: At): Promise<BatchResult[]> {
    const s = await this.state();
    const m = metrics();
    const nowMs = Date.parse(at.current_time);
    const out: (BatchResult | Promise<BatchResult>)[] = new Array(items.length);
    const misses = new Map<string, { item: CheckItem; at: number[] }>();
    items.forEach((item, i) => {
      const key = this.key(item);
      const found = s ? this.lookup(key, s, nowMs) : undefined;
      if (found) {
        m.decisionCacheHits.inc();
        out[i] =
          "answer" in found
            ? found.answer.then(
                (allowed) => ({ allowed }),
                (err: Error) => ({ allowed: false, error: err.message }),
              )
            : { allowed: found.allowed };
        return;
      }
      const miss = misses.get(key);
      if (miss) miss.at.push(i);
      else misses.set(key, { item, at: [i] });
    });
    if (misses.size > 0) {
      m.decisionCacheMisses.inc(misses.size);
      const keys = [...misses.keys()];
      const unique = keys.map((k) => misses.get(k)!.item);
      const call = this.engine.batchCheck(unique, at).then((rs) => this.retryErrors(unique, rs, at));
      const results = keys.map((key, j) => {
        const r = call.then((rs) => rs[j]!);
        // Only answers without an error are shared and cached.
        if (s) {
          this.fly(
            key,
            s,
            r.then((x) => (x.error ? Promise.reject(new Error(x.error)) : x.allowed)),
          ).catch(() => {});
        }
        return r;
      });
      keys.forEach((key, j) => {
        for (const i of misses.get(key)!.at) out[i] = results[j]!;
      });
    }
    return Promise.all(out);
  }

  /**
   * Every item decided, or the call fails: for lists (searches, access
   * review) that must never come back silently shorter. Items the engine did
   * not answer were already retried once by `batchCheck`; one still without
   * an answer fails the whole call with 503. An item the engine refused as
   * input (a custom model's id or condition it does not accept) holds nothing.
   */
  async batchCheckAll(items: CheckItem[], at: At): Promise<boolean[]> {
    const rs = items.length ? await this.batchCheck(items, at) : [];
    return rs.map((r) => {
      if (!r.error) return r.allowed;
      if (refusedInput(r)) return false;
      throw Unavailable("engine-unavailable", "the authorization engine did not answer every item; retry");
    });
  }

  /** Batch items the engine did not answer (its deadline, under load): once more, alone. */
  private async retryErrors(items: CheckItem[], rs: BatchResult[], at: At): Promise<BatchResult[]> {
    return Promise.all(
      rs.map(async (r, i) => {
        if (!r.error || refusedInput(r)) return r;
        try {
          return { allowed: await this.engine.check(items[i]!, at) };
        } catch {
          return r;
        }
      }),
    );
  }
}

const passThrough = new WeakMap<Engine, DecisionCache>();

/** The decider of these deps: their cache, else a pass-through over their engine. */
export function decider(deps: { engine: Engine; decisions?: DecisionCache }): DecisionCache {
  // A cache belongs to one engine (a test may swap the engine of a deps object).
  if (deps.decisions && deps.decisions.engine === deps.engine) return deps.decisions;
  let d = passThrough.get(deps.engine);
  if (!d) {
    d = new DecisionCache(deps.engine);
    passThrough.set(deps.engine, d);
  }
  return d;
}

/**
 * The cache for a service: on only with the built-in model (a custom model's
 * conditions may read anything from the caller's context and the clock) and
 * with the engine journal (real PostgreSQL: the fence needs to see changes in
 * flight). `fenceSql` should be its own small pool, so that revision reads do
 * not queue behind change transactions.
 */
export function buildDecisionCache(opts: {
  engine: Engine;
  size: number;
  builtInModel: boolean;
  fenceSql?: Sql;
}): DecisionCache {
  if (!opts.builtInModel || !opts.fenceSql || opts.size <= 0) return new DecisionCache(opts.engine);
  const sql = opts.fenceSql;
  const fence = new RevisionFence(() => {
    metrics().revisionReads.inc();
    return readRevision(sql, new Date());
  });
  const cache = new DecisionCache(opts.engine, opts.size, fence);
  metrics().watchCache(() => cache.entries);
  return cache;
}
