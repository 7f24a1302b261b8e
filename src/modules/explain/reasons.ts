import {
  JOB_LEVELS,
  type JobLevel,
  LEVEL_PERMISSIONS,
  levelAtLeast,
  levelMeet,
  ORG_PERMISSIONS,
  type OrgRole,
  PLATFORM_PERMISSIONS,
  ROLE_BASELINE,
  type StaffRole,
} from "../../engine/permissions.js";
import { impliedLevels } from "../../kernel/tuples.js";
import {
  type CooperationFact,
  type GrantFact,
  isLive,
  type OrganizationSnapshot,
  type PlatformSnapshot,
  type Ref,
  type ResourceSnapshot,
  type ShareFact,
} from "./facts.js";

/**
 * The paths that give a user access, in domain terms, computed from database
 * rows with the SPEC rules (R-O1, R-O2, R-O4, R-H1, R-C6…R-C9, R-C11). Pure:
 * the same rules the model encodes (model/README.md), written over rows, so
 * that a disagreement with the engine is a finding (service.ts reports it).
 */

export type Reason =
  | { kind: "role-baseline"; role: OrgRole; organizationId: string; level: JobLevel; message: string }
  | { kind: "grant"; on: Ref; level: JobLevel; effectiveLevel: JobLevel; message: string }
  | {
      kind: "share";
      cooperationId: string;
      ownerOrganizationId: string;
      partnerOrganizationId: string;
      on: Ref;
      level: JobLevel;
      expiresAt: string | null;
      message: string;
    }
  | {
      kind: "delegation";
      cooperationId: string;
      ownerOrganizationId: string;
      on: Ref;
      level: JobLevel;
      share: { on: Ref; level: JobLevel };
      effectiveLevel: JobLevel;
      message: string;
    }
  | { kind: "organization-role"; role: OrgRole; organizationId: string; message: string }
  | { kind: "staff-role"; role: StaffRole; message: string };

/** A path and the level it gives (null for paths that give a permission without a level). */
export interface Path {
  reason: Reason;
  level: JobLevel | null;
}

export interface Answer {
  allowed: boolean;
  reasons: Reason[];
}

const ref = (r: Ref) => `${r.type} ${r.id}`;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Which shares cap a delegation on `on`: a park's by the share on it or its portfolio (R-C9). */
export function covers(s: ShareFact, on: Ref, snap: ResourceSnapshot): boolean {
  if (s.on.type === on.type && s.on.id === on.id) return true;
  return on.type === "park" && s.on.type === "portfolio" && s.on.id === snap.resource.portfolioId;
}

function partnerOf(snap: ResourceSnapshot, s: ShareFact, now: Date): CooperationFact | null {
  const c = snap.cooperations.get(s.cooperationId);
  return c && isLive(c, now) ? c : null;
}

/** Every level path of one user on the snapshot's resource. */
export function levelPaths(snap: ResourceSnapshot, userId: string, now: Date): Path[] {
  const m = snap.memberships.get(userId);
  if (!m) return [];
  const out: Path[] = [];
  const ownerId = snap.resource.organizationId;
  const external = m.role === "external";
  if (m.organizationId === ownerId) {
    const baseline = ROLE_BASELINE[m.role];
    if (baseline) {
      out.push({
        level: baseline,
        reason: {
          kind: "role-baseline",
          role: m.role,
          organizationId: ownerId,
          level: baseline,
          message: `${m.role} of the owner organization: ${baseline} on everything it owns (R-O1)`,
        },
      });
    }
    for (const g of snap.grants) {
      if (g.userId !== userId || g.cooperationId !== null) continue;
      const eff: JobLevel = external ? "viewer" : g.level;
      const capped = eff !== g.level ? ", limited to viewer for an external member (R-O4)" : "";
      out.push({
        level: eff,
        reason: {
          kind: "grant",
          on: g.on,
          level: g.level,
          effectiveLevel: eff,
          message: `grant of ${g.level} on ${ref(g.on)}${capped}`,
        },
      });
    }
    return out;
  }
  for (const s of snap.shares) {
    const c = partnerOf(snap, s, now);
    if (!c || c.partnerOrganizationId !== m.organizationId) continue;
    if (m.role === "admin") {
      out.push({
        level: s.level,
        reason: {
          kind: "share",
          cooperationId: c.id,
          ownerOrganizationId: c.ownerOrganizationId,
          partnerOrganizationId: m.organizationId,
          on: s.on,
          level: s.level,
          expiresAt: iso(c.expiresAt),
          message: `admin of the partner organization of cooperation ${c.id}, which shares ${ref(s.on)} at ${s.level} (R-C7)`,
        },
      });
    }
    for (const g of delegationsOf(snap, userId)) {
      if (!covers(s, g.on, snap)) continue;
      const meet = levelMeet(g.level, s.level);
      const eff: JobLevel = external ? "viewer" : meet;
      out.push({
        level: eff,
        reason: {
          kind: "delegation",
          cooperationId: c.id,
          ownerOrganizationId: c.ownerOrganizationId,
          on: g.on,
          level: g.level,
          share: { on: s.on, level: s.level },
          effectiveLevel: eff,
          message:
            `delegation of ${g.level} on ${ref(g.on)}, capped by the ${s.level} share on ${ref(s.on)}: ${eff} (R-C9)` +
            (external && meet !== "viewer" ? "; external members are limited to viewer (R-O4)" : ""),
        },
      });
    }
  }
  return out;
}

export function delegationsOf(snap: ResourceSnapshot, userId: string): GrantFact[] {
  return snap.grants.filter((g) => g.userId === userId && g.cooperationId !== null);
}

/** The maximal levels held through any path (R-O2: both managers are both, not operator). */
export function maximalLevels(paths: readonly Path[]): JobLevel[] {
  return maximalOf(heldLevels(paths));
}

/** Every level held "at least" (the closure the engine's lvl_* relations answer). */
export function heldLevels(paths: readonly Path[]): Set<JobLevel> {
  return new Set(paths.flatMap((p) => (p.level ? impliedLevels(p.level) : [])));
}

export function maximalOf(held: ReadonlySet<JobLevel>): JobLevel[] {
  return JOB_LEVELS.filter(
    (l) => held.has(l) && !JOB_LEVELS.some((o) => o !== l && held.has(o) && levelAtLeast(o, l)),
  );
}

/** The paths giving `can_manage_access`, `can_share` or `can_view_audit_log` (SPEC §2, R-C11). */
function adminPaths(snap: ResourceSnapshot, userId: string, action: string, now: Date): Path[] {
  const m = snap.memberships.get(userId);
  if (!m) return [];
  const ownerId = snap.resource.organizationId;
  if (m.organizationId === ownerId) {
    const roles: OrgRole[] = action === "can_manage_access" ? ["admin", "moderator"] : ["admin"];
    if (!roles.includes(m.role)) return [];
    const what = action === "can_manage_access" ? "manages access to" : `holds ${action} on`;
    const message = `${m.role} of the owner organization ${what} everything it owns`;
    return [
      { level: null, reason: { kind: "organization-role", role: m.role, organizationId: ownerId, message } },
    ];
  }
  if (action !== "can_manage_access" || m.role !== "admin") return [];
  return levelPaths(snap, userId, now)
    .filter((p) => p.reason.kind === "share")
    .map((p) => ({
      level: null,
      reason: { ...p.reason, message: `${p.reason.message}; partner admins manage delegations (R-C8)` },
    }));
}

/** The paths that give `action` on the resource; an unknown action has none. */
export function resourcePaths(snap: ResourceSnapshot, userId: string, action: string, now: Date): Path[] {
  const wanted = LEVEL_PERMISSIONS[action];
  if (wanted) {
    return levelPaths(snap, userId, now).filter(
      (p) => p.level && wanted.some((w) => levelAtLeast(p.level!, w)),
    );
  }
  if (["can_manage_access", "can_share", "can_view_audit_log"].includes(action)) {
    return adminPaths(snap, userId, action, now);
  }
  return [];
}

export function organizationReasons(snap: OrganizationSnapshot, action: string): Reason[] {
  const m = snap.membership;
  const roles = ORG_PERMISSIONS[action];
  if (!m || !roles || m.organizationId !== snap.organizationId || !roles.includes(m.role)) return [];
  return [
    {
      kind: "organization-role",
      role: m.role,
      organizationId: m.organizationId,
      message: `${m.role} of the organization, a role that holds ${action}`,
    },
  ];
}

export function platformReasons(snap: PlatformSnapshot, action: string): Reason[] {
  const roles = PLATFORM_PERMISSIONS[action];
  const role = snap.staffRole;
  if (!roles || !role || !roles.includes(role)) return [];
  return [{ kind: "staff-role", role, message: `platform ${role}, a staff role that holds ${action}` }];
}
