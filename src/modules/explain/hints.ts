import type { JobLevel, OrgRole } from "../../engine/permissions.js";
import * as permissions from "../../engine/permissions.js";
import {
  type CooperationFact,
  isLive,
  type OrganizationSnapshot,
  type PlatformSnapshot,
  type Ref,
  type ResourceSnapshot,
  readState,
} from "./facts.js";
import { delegationsOf, levelPaths, maximalLevels } from "./reasons.js";

/**
 * For a deny: what is closest to an allow, as machine-readable entries
 * (`kind` and fields) with a human `message`. Pure, over the same snapshot
 * as reasons.ts. A deny always gets at least one entry.
 */

export interface Missing {
  kind: string;
  message: string;
  [field: string]: unknown;
}

const ref = (r: Ref) => `${r.type} ${r.id}`;
const satisfies = (level: JobLevel, wanted: readonly JobLevel[]) =>
  wanted.some((w) => permissions.levelAtLeast(level, w));

export function unknownPermission(type: string, action: string): Missing {
  return {
    kind: "unknown-permission",
    type,
    action,
    message: `${action} is not a permission of ${type} (SPEC §2): always a deny`,
  };
}

function inactive(c: CooperationFact, role: OrgRole, now: Date): Missing {
  const state = readState(c, now);
  const since = state === "expired" ? c.expiresAt!.toISOString() : null;
  const who = role === "admin" ? "partner admin" : `${role} of the partner organization`;
  return {
    kind: "cooperation-inactive",
    cooperationId: c.id,
    ownerOrganizationId: c.ownerOrganizationId,
    state,
    expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
    since,
    message:
      state === "expired"
        ? `${who}, but cooperation ${c.id} expired since ${since}: nothing is shared (R-C6)`
        : `${who}, but cooperation ${c.id} is ${state}: nothing is shared (R-C6)`,
  };
}

/** The non-ended cooperations that share the resource (or a park's portfolio) with the user's organization. */
function cooperationsFor(snap: ResourceSnapshot, orgId: string): CooperationFact[] {
  const ids = new Set(snap.shares.map((s) => s.cooperationId));
  return [...snap.cooperations.values()].filter((c) => ids.has(c.id) && c.partnerOrganizationId === orgId);
}

function levelHints(
  snap: ResourceSnapshot,
  userId: string,
  wanted: readonly JobLevel[],
  now: Date,
): Missing[] {
  const ownerId = snap.resource.organizationId;
  const m = snap.memberships.get(userId);
  const out: Missing[] = [];
  const held = maximalLevels(levelPaths(snap, userId, now));
  const tooLow = (): Missing => ({
    kind: "level-too-low",
    levels: held,
    requiredLevels: wanted,
    message: `holds ${held.join(" and ")}; this needs one of ${wanted.join(", ")}`,
  });
  const external = (on: Ref, level: JobLevel): Missing => ({
    kind: "external-limited",
    rule: "R-O4",
    on,
    level,
    message: `${level} on ${ref(on)}, but external members are limited to viewer (R-O4)`,
  });
  if (!m) return [notMember(ownerId, null)];
  if (m.organizationId === ownerId) {
    for (const g of snap.grants) {
      if (g.userId === userId && !g.cooperationId && m.role === "external" && satisfies(g.level, wanted))
        out.push(external(g.on, g.level));
    }
    if (out.length === 0 && held.length > 0) out.push(tooLow());
    if (out.length === 0) {
      out.push({
        kind: "no-grant",
        organizationId: ownerId,
        role: m.role,
        requiredLevels: wanted,
        message: `${m.role} of the owner organization without a grant: the role gives no level (R-O1)`,
      });
    }
    return out;
  }
  const coops = cooperationsFor(snap, m.organizationId);
  if (coops.length === 0) return [notMember(ownerId, m.organizationId)];
  for (const c of coops) {
    if (!isLive(c, now)) {
      out.push(inactive(c, m.role, now));
      continue;
    }
    const shares = snap.shares.filter((s) => s.cooperationId === c.id);
    if (m.role === "admin") {
      for (const s of shares.filter((s) => !satisfies(s.level, wanted))) {
        out.push({
          kind: "share-too-low",
          cooperationId: c.id,
          on: s.on,
          level: s.level,
          requiredLevels: wanted,
          message: `partner admin: cooperation ${c.id} shares ${ref(s.on)} at ${s.level} only`,
        });
      }
    }
    const delegations = delegationsOf(snap, userId);
    for (const g of delegations) {
      for (const s of shares) {
        const meet = permissions.levelMeet(g.level, s.level);
        if (
          !(s.on.id === g.on.id && s.on.type === g.on.type) &&
          !(g.on.type === "park" && s.on.type === "portfolio")
        )
          continue;
        if (satisfies(g.level, wanted) && !satisfies(meet, wanted)) {
          out.push({
            kind: "delegation-capped",
            cooperationId: c.id,
            on: g.on,
            level: g.level,
            share: { on: s.on, level: s.level },
            effectiveLevel: meet,
            requiredLevels: wanted,
            message: `delegation of ${g.level} on ${ref(g.on)} capped at ${meet} by the current ${s.level} share on ${ref(s.on)} (R-C9)`,
          });
        } else if (m.role === "external" && satisfies(meet, wanted)) {
          out.push(external(g.on, g.level));
        }
      }
    }
    if (delegations.length === 0 && m.role !== "admin") {
      out.push({
        kind: "no-delegation",
        cooperationId: c.id,
        organizationId: m.organizationId,
        message: `${m.role} of the partner organization without a delegation: only partner admins get the shared level (R-C7)`,
      });
    }
  }
  if (out.length === 0) out.push(tooLow());
  return out;
}

function notMember(organizationId: string, own: string | null): Missing {
  return {
    kind: "not-a-member",
    organizationId,
    message: own
      ? `not a member of the owner organization ${organizationId}, and no cooperation shares this with organization ${own}`
      : `not a member of the owner organization ${organizationId} (nor of any organization)`,
  };
}

function roleRequired(
  organizationId: string,
  roles: readonly OrgRole[],
  role: OrgRole | null,
  note = "",
): Missing {
  return {
    kind: "role-required",
    organizationId,
    roles,
    role,
    message: `needs the role ${roles.join(" or ")} in organization ${organizationId}${role ? ` (has ${role})` : ""}${note}`,
  };
}

export function resourceHints(snap: ResourceSnapshot, userId: string, action: string, now: Date): Missing[] {
  const wanted = permissions.LEVEL_PERMISSIONS[action];
  if (wanted) return levelHints(snap, userId, wanted, now);
  const ownerId = snap.resource.organizationId;
  const m = snap.memberships.get(userId);
  const roles: OrgRole[] = action === "can_manage_access" ? ["admin", "moderator"] : ["admin"];
  if (!["can_manage_access", "can_share", "can_view_audit_log"].includes(action))
    return [unknownPermission(snap.resource.type, action)];
  if (!m) return [notMember(ownerId, null)];
  if (m.organizationId === ownerId) return [roleRequired(ownerId, roles, m.role)];
  const coops = cooperationsFor(snap, m.organizationId);
  const paused = coops.filter((c) => !isLive(c, now)).map((c) => inactive(c, m.role, now));
  if (action === "can_manage_access" && m.role === "admin" && paused.length > 0) return paused;
  const note =
    coops.length > 0
      ? "; access through a cooperation never gives it, except delegations by partner admins (R-C11)"
      : "";
  return [roleRequired(ownerId, roles, null, note)];
}

export function organizationHints(snap: OrganizationSnapshot, action: string): Missing[] {
  const roles = permissions.ORG_PERMISSIONS[action];
  if (!roles) return [unknownPermission("organization", action)];
  const m = snap.membership;
  if (!m || m.organizationId !== snap.organizationId) {
    return [
      {
        kind: "not-a-member",
        organizationId: snap.organizationId,
        message: `not a member of organization ${snap.organizationId}`,
      },
    ];
  }
  return [roleRequired(snap.organizationId, roles, m.role)];
}

export function platformHints(snap: PlatformSnapshot, action: string): Missing[] {
  const roles = permissions.PLATFORM_PERMISSIONS[action];
  if (!roles) return [unknownPermission("platform", action)];
  return [
    {
      kind: "staff-role-required",
      roles,
      role: snap.staffRole,
      message: `needs the platform staff role ${roles.join(" or ")}${snap.staffRole ? ` (has ${snap.staffRole})` : ""}`,
    },
  ];
}
