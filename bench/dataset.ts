import type { JobLevel, OrgRole, ResourceType } from "../src/engine/permissions.js";
import { JOB_LEVELS, levelAtLeast } from "../src/engine/permissions.js";
import type { BenchOptions } from "./args.js";

/**
 * The generated platform, as plain data (no I/O). Organization ids are
 * server-generated, so organizations are referred to by index here; the
 * loader maps indices to ids. Everything is derived from a seeded PRNG so two
 * runs with the same flags load the same world.
 */

export interface UserSpec {
  id: string;
  email: string;
  role: OrgRole;
}
export interface ParkSpec {
  id: string;
  portfolioId: string;
}
export interface OrgSpec {
  index: number;
  name: string;
  users: UserSpec[];
  portfolios: string[];
  parks: ParkSpec[];
}
export interface GrantSpec {
  type: ResourceType;
  resourceId: string;
  userId: string;
  level: JobLevel;
  org: number;
}
export interface CoopSpec {
  index: number;
  owner: number;
  partner: number;
  /** Pending cooperations have no partner tuple: a deny path (R-C6). */
  active: boolean;
  expiresAt: Date | null;
  shares: { resource: { type: ResourceType; id: string }; level: JobLevel }[];
  delegations: Omit<GrantSpec, "org">[];
}
export interface DatasetSpec {
  orgs: OrgSpec[];
  grants: GrantSpec[];
  cooperations: CoopSpec[];
}

/** mulberry32: small, fast, good enough for sampling. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Spread `total` over `n` buckets as evenly as possible. */
const share = (total: number, n: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);

/** Position in the organization → role: 1 admin, 1 moderator, then 10% each asset manager, 20% external. */
function roleAt(pos: number): OrgRole {
  if (pos === 0) return "admin";
  if (pos === 1) return "moderator";
  const k = (pos - 2) % 10;
  if (k === 0) return "asset_manager_technical";
  if (k === 1) return "asset_manager_commercial";
  if (k === 2 || k === 3) return "external";
  return "member";
}

export function generateDataset(o: BenchOptions, now = new Date()): DatasetSpec {
  const r = rng(o.seed);
  const orgs: OrgSpec[] = [];
  let userNo = 0;
  for (let i = 0; i < o.orgs; i++) {
    const users: UserSpec[] = [];
    for (let p = 0; p < share(o.users, o.orgs, i); p++) {
      const id = `bu-${String(userNo++).padStart(6, "0")}`;
      users.push({ id, email: `${id}@bench.example`, role: roleAt(p) });
    }
    const portfolios = Array.from({ length: share(o.portfolios, o.orgs, i) }, (_, j) => `pf-${i}-${j}`);
    const parks = Array.from({ length: share(o.parks, o.orgs, i) }, (_, j) => ({
      id: `pk-${i}-${j}`,
      portfolioId: portfolios[j % portfolios.length]!,
    }));
    orgs.push({ index: i, name: `Bench org ${i}`, users, portfolios, parks });
  }

  const grants: GrantSpec[] = [];
  const seen = new Set<string>();
  for (const org of orgs) {
    for (const u of org.users) {
      if (u.role !== "member" && u.role !== "external") continue;
      for (let g = 0; g < o.grantsPerMember; g++) {
        const onPark = r() < 0.5;
        const type: ResourceType = onPark ? "park" : "portfolio";
        const resourceId = onPark ? pick(r, org.parks).id : pick(r, org.portfolios);
        const key = `${type}:${resourceId}:${u.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const level = u.role === "external" ? "viewer" : pick(r, JOB_LEVELS);
        grants.push({ type, resourceId, userId: u.id, level, org: org.index });
      }
    }
  }

  const cooperations: CoopSpec[] = [];
  const day = 86_400_000;
  for (let c = 0; c < o.cooperations; c++) {
    const owner = c % o.orgs;
    const partner = (owner + 1 + Math.floor(c / o.orgs)) % o.orgs;
    const ow = orgs[owner]!;
    const active = c % 10 !== 9;
    // Some expire in the future (conditioned tuple), a few are already expired (deny through the condition).
    const expiresAt =
      c % 20 === 7 ? new Date(now.getTime() - day) : c % 4 === 0 ? new Date(now.getTime() + 30 * day) : null;
    const shares: CoopSpec["shares"] = [
      { resource: { type: "portfolio", id: ow.portfolios[0]! }, level: pick(r, JOB_LEVELS) },
    ];
    const lastPf = ow.portfolios[ow.portfolios.length - 1]!;
    const park =
      ow.parks.find((p) => p.portfolioId === lastPf && lastPf !== ow.portfolios[0]) ?? ow.parks.at(-1)!;
    shares.push({ resource: { type: "park", id: park.id }, level: pick(r, JOB_LEVELS) });
    const delegations: CoopSpec["delegations"] = [];
    const fullMembers = orgs[partner]!.users.filter((u) => u.role === "member");
    for (let d = 0; active && fullMembers.length > 0 && d < o.delegationsPerCooperation; d++) {
      const s = pick(r, shares);
      let target: { type: ResourceType; id: string } = s.resource;
      if (s.resource.type === "portfolio" && r() < 0.5) {
        const inPf = ow.parks.filter((p) => p.portfolioId === s.resource.id);
        if (inPf.length) target = { type: "park", id: pick(r, inPf).id };
      }
      const userId = pick(r, fullMembers).id;
      const key = `${target.type}:${target.id}:${userId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // R-C8: never above the share's level (peers are not below each other).
      const level = pick(
        r,
        JOB_LEVELS.filter((l) => levelAtLeast(s.level, l)),
      );
      delegations.push({ type: target.type, resourceId: target.id, userId, level });
    }
    cooperations.push({ index: c, owner, partner, active, expiresAt, shares, delegations });
  }
  return { orgs, grants, cooperations };
}
