import type { Bench } from "./bench.js";
import type { Sidecar } from "./sidecar.js";
import { buildStaleFixture, type Question, type RevokePath } from "./stale-fixture.js";

/**
 * The stale-allow probe (R-G1): for each revoke path, an allow is primed in
 * the caches of both replicas, the revoke goes through replica A, and every
 * decision at either replica that starts after the revoke answered 2xx (for
 * the expiry path: after expiresAt) must be a deny. Each allow then is a
 * stale allow. Besides the `rounds` fired at both replicas the moment the
 * revoke answers, one decision loop per replica runs from before the revoke
 * until the last round, so that misses that started before the revoke and
 * finish after it are exercised too.
 */

type Verdict = "allow" | "deny" | `error ${number}`;

interface Counts {
  decisions: number;
  allows: number;
  denies: number;
  errors: number;
}
const counts = (): Counts => ({ decisions: 0, allows: 0, denies: 0, errors: 0 });

export interface StalePathResult {
  name: string;
  question: Question;
  /** Both replicas answered allow (twice each) before the revoke: the probe of this path is meaningful. */
  primed: boolean;
  revokeStatus: number | null;
  revokeMs: number | null;
  /** Decisions of the loops that started before the revoke answered (or before the expiry): allows are fine. */
  before: Counts;
  /** Decisions at either replica that started after the revoke answered (or after the expiry). */
  after: Counts;
  /** Allows of `after`: must be 0. */
  staleAllows: number;
  error?: string;
}

export interface StaleResult {
  replicas: string[];
  rounds: number;
  expiryLeadMs: number;
  paths: StalePathResult[];
  staleAllows: number;
  /** Paths that could not be set up or revoked (the probe did not check them). */
  failedPaths: number;
}

const EXPIRY_LEAD_MS = 200;

async function decide(b: Bench, s: Sidecar, q: Question): Promise<Verdict> {
  try {
    const res = await fetch(`${s.url}/access/v1/evaluation`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${b.apiKey}` },
      body: JSON.stringify({
        subject: { type: "user", id: q.user },
        action: { name: q.action },
        resource: q.resource,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { decision?: boolean };
    if (res.status !== 200) return `error ${res.status}`;
    return body.decision === true ? "allow" : "deny";
  } catch {
    return "error 0";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Tally of decisions that started after `fence` (performance.now() ms; Infinity until the revoke answers). */
class Tally {
  fence = Number.POSITIVE_INFINITY;
  readonly before = counts();
  readonly after = counts();
  async record(started: number, v: Promise<Verdict>): Promise<Verdict> {
    const verdict = await v;
    const c = started > this.fence ? this.after : this.before;
    c.decisions++;
    if (verdict === "allow") c.allows++;
    else if (verdict === "deny") c.denies++;
    else c.errors++;
    return verdict;
  }
}

/** A path's result before anything ran. */
function emptyResult(name: string, question: StalePathResult["question"]): StalePathResult {
  return {
    name,
    question,
    primed: false,
    revokeStatus: null,
    revokeMs: null,
    before: counts(),
    after: counts(),
    staleAllows: 0,
  };
}

async function probePath(b: Bench, replicas: Sidecar[], p: RevokePath): Promise<StalePathResult> {
  const result = emptyResult(p.name, p.question);
  // Twice at each replica; an error (503 under load) is asked again, a deny is not.
  const primes: Verdict[] = [];
  for (const s of replicas)
    for (let i = 0; i < 2; i++) {
      let v = await decide(b, s, p.question);
      for (let retry = 0; retry < 3 && v.startsWith("error"); retry++) v = await decide(b, s, p.question);
      primes.push(v);
    }
  result.primed = primes.every((v) => v === "allow");
  if (!result.primed) {
    result.error = `before the revoke: ${primes.join(", ")}`;
    return result;
  }
  const tally = new Tally();
  let stop = false;
  const loops = replicas.map(async (s) => {
    for (let n = 0; !stop && n < 10_000; n++) await tally.record(performance.now(), decide(b, s, p.question));
  });
  try {
    const t0 = performance.now();
    const { answer, staleAfter } = await p.revoke();
    result.revokeStatus = answer.status;
    result.revokeMs = Math.round(answer.at - t0);
    if (answer.status < 200 || answer.status > 299) {
      result.error = `revoke answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`;
      return result;
    }
    if (staleAfter === undefined) tally.fence = answer.at;
    else {
      // The expiry path: wall-clock expiresAt + 1 ms, on performance.now()'s scale.
      tally.fence = performance.now() + (staleAfter - Date.now());
      await sleep(tally.fence - performance.now() + 1);
    }
    for (let r = 0; r < b.opts.staleRounds; r++)
      await Promise.all(replicas.map((s) => tally.record(performance.now(), decide(b, s, p.question))));
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  result.before = tally.before;
  result.after = tally.after;
  result.staleAllows = tally.after.allows;
  return result;
}

/** Phase 7: every revoke path once, through replica A, decisions at A and B. */
export async function staleProbe(b: Bench): Promise<StaleResult> {
  const replicas = [b.sidecar, b.replicaB];
  const paths: StalePathResult[] = [];
  let fixture: RevokePath[];
  try {
    fixture = await buildStaleFixture(b.sidecar.url, b.apiKey, EXPIRY_LEAD_MS);
  } catch (err) {
    b.log(`  stale-allow probe: fixture failed: ${(err as Error).message}`);
    fixture = [];
    paths.push({
      ...emptyResult("fixture", { user: "", action: "", resource: { type: "park", id: "" } }),
      error: (err as Error).message,
    });
  }
  for (const p of fixture) {
    const r = await probePath(b, replicas, p);
    b.log(
      `  ${r.name}: ${r.error ? `FAILED (${r.error.slice(0, 200)})` : `${r.after.decisions} decisions after, ${r.staleAllows} stale allows`}`,
    );
    paths.push(r);
  }
  return {
    replicas: replicas.map((s) => s.name),
    rounds: b.opts.staleRounds,
    expiryLeadMs: EXPIRY_LEAD_MS,
    paths,
    staleAllows: paths.reduce((a, p) => a + p.staleAllows, 0),
    failedPaths: paths.filter((p) => p.error !== undefined).length,
  };
}
