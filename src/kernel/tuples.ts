import { engineUser, engineObject as obj } from "../engine/ids.js";
import type { JobLevel, OrgRole, ResourceType, StaffRole } from "../engine/permissions.js";

/**
 * Pure mappers from domain rows to OpenFGA tuples. Every change and the
 * reconciler use these, so the engine holds exactly what the database implies.
 * Ids go through engine/ids.ts (`:` is not allowed in an OpenFGA id), so
 * tuples are always in engine form, the form the engine reads back.
 */

export interface Tuple {
  user: string;
  relation: string;
  object: string;
  condition?: { name: string; context: Record<string, unknown> };
}

export interface Delta {
  writes: Tuple[];
  deletes: Tuple[];
}

export const PLATFORM_OBJECT = "platform:default";

export function tupleKey(t: Tuple): string {
  return `${t.object}#${t.relation}@${t.user}`;
}

export function sameCondition(a: Tuple, b: Tuple): boolean {
  return JSON.stringify(a.condition ?? null) === JSON.stringify(b.condition ?? null);
}

/** The delta that turns `before` into `after`; a changed condition is delete + write. */
export function diffTuples(before: Tuple[], after: Tuple[]): Delta {
  const b = new Map(before.map((t) => [tupleKey(t), t]));
  const a = new Map(after.map((t) => [tupleKey(t), t]));
  const writes: Tuple[] = [];
  const deletes: Tuple[] = [];
  for (const [k, t] of b) {
    const next = a.get(k);
    if (!next || !sameCondition(t, next)) deletes.push(t);
  }
  for (const [k, t] of a) {
    const prev = b.get(k);
    if (!prev || !sameCondition(t, prev)) writes.push(t);
  }
  return { writes, deletes };
}

export function staffTuples(s: { userId: string; role: StaffRole }): Tuple[] {
  return [{ user: engineUser(s.userId), relation: `staff_${s.role}`, object: PLATFORM_OBJECT }];
}

/**
 * The organization sets each role belongs to (model.fga, type organization),
 * stored beside the role so that checks read one relation per hop.
 */
export function roleSets(role: OrgRole): string[] {
  switch (role) {
    case "admin":
    case "moderator":
      return [
        "full_member",
        "member",
        "baseline_operator",
        "baseline_technical_manager",
        "baseline_asset_manager",
        "baseline_viewer",
      ];
    case "asset_manager_technical":
      return ["full_member", "member", "baseline_technical_manager", "baseline_viewer"];
    case "asset_manager_commercial":
      return ["full_member", "member", "baseline_asset_manager", "baseline_viewer"];
    case "member":
      return ["full_member", "member"];
    case "external":
      return ["member"];
  }
}

export function membershipTuples(m: { userId: string; organizationId: string; role: OrgRole }): Tuple[] {
  const user = engineUser(m.userId);
  const object = obj("organization", m.organizationId);
  return [`role_${m.role}`, ...roleSets(m.role)].map((relation) => ({ user, relation, object }));
}

export function portfolioTuples(p: { id: string; organizationId: string }): Tuple[] {
  return [{ user: obj("organization", p.organizationId), relation: "owner", object: obj("portfolio", p.id) }];
}

export function parkTuples(p: { id: string; organizationId: string; portfolioId: string }): Tuple[] {
  return [
    { user: obj("organization", p.organizationId), relation: "owner", object: obj("park", p.id) },
    { user: obj("portfolio", p.portfolioId), relation: "portfolio", object: obj("park", p.id) },
  ];
}

/**
 * Levels are stored as "at least" sets: a level writes one tuple for itself
 * and one for every level below it in the lattice (operator → all four;
 * either manager → itself and viewer). The model then reads one relation per
 * level instead of a union of up to four, which halves the work of a check
 * (every deny visits every path). The database keeps the level itself.
 */
export function impliedLevels(level: JobLevel): JobLevel[] {
  switch (level) {
    case "operator":
      return ["operator", "technical_manager", "asset_manager", "viewer"];
    case "technical_manager":
      return ["technical_manager", "viewer"];
    case "asset_manager":
      return ["asset_manager", "viewer"];
    case "viewer":
      return ["viewer"];
  }
}

/** A grant (own organization) or a delegation (through a cooperation). */
export function grantTuples(g: {
  resourceType: ResourceType;
  resourceId: string;
  userId: string;
  level: JobLevel;
  cooperationId: string | null;
}): Tuple[] {
  const prefix = g.cooperationId ? "delegated" : "grant";
  return impliedLevels(g.level).map((l) => ({
    user: engineUser(g.userId),
    relation: `${prefix}_${l}`,
    object: obj(g.resourceType, g.resourceId),
  }));
}

export type CooperationState = "pending" | "active" | "paused" | "ended";

/**
 * The `partner` tuple is the single switch for everything shared: present only
 * while active, with the not_expired condition when the cooperation expires.
 */
export function cooperationTuples(c: {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: CooperationState;
  expiresAt: Date | null;
}): Tuple[] {
  const object = obj("cooperation", c.id);
  if (c.state === "ended") return [];
  const out: Tuple[] = [{ user: obj("organization", c.ownerOrganizationId), relation: "owner", object }];
  if (c.state === "active" && c.partnerOrganizationId) {
    const partner: Tuple = {
      user: obj("organization", c.partnerOrganizationId),
      relation: "partner",
      object,
    };
    if (c.expiresAt) {
      partner.condition = { name: "not_expired", context: { expires_at: c.expiresAt.toISOString() } };
    }
    out.push(partner);
  }
  return out;
}

/** A share as stored (one row of `shares`), the one shape every share reader and writer uses. */
export interface ShareRow {
  cooperationId: string;
  resourceType: ResourceType;
  resourceId: string;
  level: JobLevel;
}

export function shareTuples(s: ShareRow): Tuple[] {
  return impliedLevels(s.level).map((l) => ({
    user: obj("cooperation", s.cooperationId),
    relation: `share_${l}`,
    object: obj(s.resourceType, s.resourceId),
  }));
}
