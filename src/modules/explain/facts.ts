import type { JobLevel, OrgRole, ResourceType, StaffRole } from "../../engine/permissions.js";
import type { CooperationState } from "../../kernel/tuples.js";

/**
 * The database rows an explanation is computed from, read in one snapshot
 * (repo.ts) and handed to the pure code (reasons.ts, hints.ts). Domain terms
 * only: nothing here is a tuple.
 */

export interface Ref {
  type: ResourceType;
  id: string;
}

export interface ResourceFacts extends Ref {
  organizationId: string;
  /** The park's portfolio; null for a portfolio. */
  portfolioId: string | null;
}

export interface MembershipFact {
  userId: string;
  organizationId: string;
  role: OrgRole;
}

/** A grant (cooperationId null) or a delegation. */
export interface GrantFact {
  on: Ref;
  userId: string;
  level: JobLevel;
  cooperationId: string | null;
}

export interface CooperationFact {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: CooperationState;
  expiresAt: Date | null;
}

export interface ShareFact {
  cooperationId: string;
  on: Ref;
  level: JobLevel;
}

/** Everything about one park or portfolio that decides who holds which level on it. */
export interface ResourceSnapshot {
  resource: ResourceFacts;
  /** Memberships of every user the question is about (absent: no organization). */
  memberships: ReadonlyMap<string, MembershipFact>;
  /** Grants and delegations on the resource and, for a park, on its portfolio. */
  grants: readonly GrantFact[];
  /** Shares on the resource and, for a park, on its portfolio (non-ended cooperations). */
  shares: readonly ShareFact[];
  cooperations: ReadonlyMap<string, CooperationFact>;
}

export interface OrganizationSnapshot {
  organizationId: string;
  membership: MembershipFact | null;
}

export interface PlatformSnapshot {
  staffRole: StaffRole | null;
}

/** R-C5, R-C6: shared only while active and before expiresAt (the engine's not_expired condition). */
export function isLive(c: CooperationFact, now: Date): boolean {
  return (
    c.state === "active" &&
    c.partnerOrganizationId !== null &&
    (c.expiresAt === null || now.getTime() < c.expiresAt.getTime())
  );
}

/** The read state of a cooperation (`expired` is computed, never stored). */
export function readState(c: CooperationFact, now: Date): CooperationState | "expired" {
  if (c.state === "active" && c.expiresAt && c.expiresAt.getTime() <= now.getTime()) return "expired";
  return c.state;
}
