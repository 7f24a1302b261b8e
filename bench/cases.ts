import { LEVEL_PERMISSIONS, ORG_PERMISSIONS, RESOURCE_ADMIN_PERMISSIONS } from "../src/engine/permissions.js";
import { pick, rng } from "./dataset.js";
import type { World } from "./oracle.js";

/** One decision question with its brute-force answer. */
export interface Case {
  kind: string;
  user: string;
  action: string;
  resource: { type: string; id: string };
  expect: boolean;
}

const RESOURCE_ACTIONS = [...Object.keys(LEVEL_PERMISSIONS), ...RESOURCE_ADMIN_PERMISSIONS];
const ORG_ACTIONS = Object.keys(ORG_PERMISSIONS);

/**
 * Distinct questions across the paths of the model: organization-role
 * baselines, own grants, partner admins through shares, delegations, other
 * organizations' resources (mostly denies) and organization permissions.
 */
export function buildCases(w: World, n: number, seed: number, now: Date): Case[] {
  const r = rng(seed ^ 0x5eed);
  const parks = [...w.parks.keys()];
  const users = [...w.members.keys()];
  const own = w.grants.filter((g) => g.coop === null);
  const delegations = w.grants.filter((g) => g.coop !== null);
  const liveShares = [...w.shares.entries()].flatMap(([k, ss]) => ss.map((s) => ({ k, ...s })));
  const parksOf = new Map<string, string[]>();
  const parksIn = new Map<string, string[]>();
  for (const [id, p] of w.parks) {
    parksOf.set(p.org, [...(parksOf.get(p.org) ?? []), id]);
    parksIn.set(p.portfolio, [...(parksIn.get(p.portfolio) ?? []), id]);
  }
  /** The resource itself or, for a portfolio, sometimes one of its parks (R-H1). */
  const maybePark = (type: string, id: string) =>
    type === "portfolio" && r() < 0.5 && parksIn.get(id)?.length
      ? { type: "park", id: pick(r, parksIn.get(id)!) }
      : { type, id };

  const kinds: { kind: string; weight: number; make: () => Omit<Case, "expect" | "kind"> | null }[] = [
    {
      kind: "org-role",
      weight: 25,
      make: () => {
        const org = pick(r, w.orgs);
        const list = parksOf.get(org);
        if (!list) return null;
        return {
          user: pick(r, w.orgUsers.get(org)!),
          action: pick(r, RESOURCE_ACTIONS),
          resource: { type: "park", id: pick(r, list) },
        };
      },
    },
    {
      kind: "grant",
      weight: 20,
      make: () => {
        if (!own.length) return null;
        const g = pick(r, own);
        return { user: g.user, action: pick(r, RESOURCE_ACTIONS), resource: maybePark(g.type, g.id) };
      },
    },
    {
      kind: "partner-admin",
      weight: 15,
      make: () => {
        if (!liveShares.length) return null;
        const s = pick(r, liveShares);
        const c = w.coops.get(s.coop)!;
        if (!c.partner) return null;
        const admin = w.orgUsers.get(c.partner)!.find((u) => w.members.get(u)!.role === "admin")!;
        const [type, id] = s.k.split(":") as [string, string];
        return { user: admin, action: pick(r, RESOURCE_ACTIONS), resource: maybePark(type, id) };
      },
    },
    {
      kind: "delegation",
      weight: 15,
      make: () => {
        if (!delegations.length) return null;
        const g = pick(r, delegations);
        return { user: g.user, action: pick(r, RESOURCE_ACTIONS), resource: maybePark(g.type, g.id) };
      },
    },
    {
      kind: "other-org",
      weight: 15,
      make: () => ({
        user: pick(r, users),
        action: pick(r, RESOURCE_ACTIONS),
        resource: { type: "park", id: pick(r, parks) },
      }),
    },
    {
      kind: "organization",
      weight: 10,
      make: () => {
        const user = pick(r, users);
        const org = r() < 0.8 ? w.members.get(user)!.org : pick(r, w.orgs);
        return { user, action: pick(r, ORG_ACTIONS), resource: { type: "organization", id: org } };
      },
    },
  ];
  const total = kinds.reduce((a, k) => a + k.weight, 0);
  const out: Case[] = [];
  const seen = new Set<string>();
  for (let tries = 0; out.length < n && tries < n * 20; tries++) {
    let x = r() * total;
    let k = kinds[0]!;
    for (const kind of kinds) {
      k = kind;
      x -= kind.weight;
      if (x < 0) break;
    }
    const q = k.make();
    if (!q) continue;
    const key = `${q.user}|${q.action}|${q.resource.type}:${q.resource.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ kind: k.kind, ...q, expect: w.decide(q.user, q.action, q.resource, now) });
  }
  return out;
}

/**
 * A request stream over the cases with zipfian popularity (rank k drawn with
 * weight 1/k^s): a few hot keys asked again and again, a long cold tail.
 */
export function zipfStream(n: number, length: number, s: number, seed: number): Uint32Array {
  const r = rng(seed ^ 0x21bf);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) cdf[k] = acc += 1 / (k + 1) ** s;
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    const x = r() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

export function caseBody(c: Case) {
  return { subject: { type: "user", id: c.user }, action: { name: c.action }, resource: c.resource };
}
