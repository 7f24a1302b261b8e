import type { Sql } from "../src/db/pool.js";
import {
  JOB_LEVELS,
  type JobLevel,
  LEVEL_PERMISSIONS,
  levelAtLeast,
  ORG_PERMISSIONS,
  type OrgRole,
  type ResourceType,
  ROLE_BASELINE,
} from "../src/engine/permissions.js";

/**
 * A brute-force evaluator of SPEC §2–§5 over the database rows, independent
 * of OpenFGA: the expected answer of every benchmark question and the
 * expected result of every search. It reads the whole domain into memory.
 */

interface Grant {
  type: ResourceType;
  id: string;
  user: string;
  level: JobLevel;
  coop: string | null;
}
interface Coop {
  id: string;
  owner: string;
  partner: string | null;
  state: string;
  expiresAt: Date | null;
}

export class World {
  readonly members = new Map<string, { org: string; role: OrgRole }>();
  readonly orgUsers = new Map<string, string[]>();
  readonly parks = new Map<string, { org: string; portfolio: string }>();
  readonly portfolios = new Map<string, { org: string }>();
  readonly grantsByUser = new Map<string, Grant[]>();
  readonly grants: Grant[] = [];
  readonly coops = new Map<string, Coop>();
  /** `${type}:${id}` → shares on that resource. */
  readonly shares = new Map<string, { coop: string; level: JobLevel }[]>();
  readonly orgs: string[] = [];

  static async read(sql: Sql): Promise<World> {
    const w = new World();
    for (const r of await sql`select id from organizations order by id`) w.orgs.push(r.id);
    for (const r of await sql`select user_id, organization_id, role from memberships`) {
      w.members.set(r.user_id, { org: r.organization_id, role: r.role });
      const list = w.orgUsers.get(r.organization_id) ?? [];
      list.push(r.user_id);
      w.orgUsers.set(r.organization_id, list);
    }
    for (const r of await sql`select id, organization_id from portfolios`)
      w.portfolios.set(r.id, { org: r.organization_id });
    for (const r of await sql`select id, organization_id, portfolio_id from parks`)
      w.parks.set(r.id, { org: r.organization_id, portfolio: r.portfolio_id });
    for (const r of await sql`select resource_type, resource_id, user_id, level, cooperation_id from grants`) {
      const g: Grant = {
        type: r.resource_type,
        id: r.resource_id,
        user: r.user_id,
        level: r.level,
        coop: r.cooperation_id,
      };
      w.grants.push(g);
      const list = w.grantsByUser.get(g.user) ?? [];
      list.push(g);
      w.grantsByUser.set(g.user, list);
    }
    for (const r of await sql`select id, owner_organization_id, partner_organization_id, state, expires_at from cooperations`)
      w.coops.set(r.id, {
        id: r.id,
        owner: r.owner_organization_id,
        partner: r.partner_organization_id,
        state: r.state,
        expiresAt: r.expires_at,
      });
    for (const r of await sql`select cooperation_id, resource_type, resource_id, level from shares`) {
      const k = `${r.resource_type}:${r.resource_id}`;
      const list = w.shares.get(k) ?? [];
      list.push({ coop: r.cooperation_id, level: r.level });
      w.shares.set(k, list);
    }
    return w;
  }

  /** R-C5/R-C6: shares count only in an active, unexpired cooperation with the user's organization as partner. */
  private liveShares(type: ResourceType, id: string, org: string, now: Date) {
    return (this.shares.get(`${type}:${id}`) ?? []).filter((s) => {
      const c = this.coops.get(s.coop)!;
      return c.state === "active" && c.partner === org && (!c.expiresAt || c.expiresAt > now);
    });
  }

  /** Levels held "at least" (closed downwards), as the model's lvl_* relations. */
  levels(user: string, type: ResourceType, id: string, now: Date): Set<JobLevel> {
    const held = new Set<JobLevel>();
    const add = (l: JobLevel) => {
      for (const x of JOB_LEVELS) if (levelAtLeast(l, x)) held.add(x);
    };
    const m = this.members.get(user);
    const res = type === "park" ? this.parks.get(id) : this.portfolios.get(id);
    if (!m || !res) return held;
    const full = m.role !== "external";
    if (res.org === m.org) {
      const base = ROLE_BASELINE[m.role];
      if (base) add(base);
    }
    const parent = type === "park" ? (this.parks.get(id)?.portfolio ?? null) : null;
    for (const g of this.grantsByUser.get(user) ?? []) {
      if (g.type !== type || g.id !== id) continue;
      if (g.coop === null) {
        // R-O3/R-O4/R-O8: own grants count for current members, above viewer only for full members.
        if (res.org === m.org && (g.level === "viewer" || full)) add(g.level);
      }
    }
    // Partner access (R-C7, R-C9): admins get the share level on the shared object itself.
    const here = this.liveShares(type, id, m.org, now);
    const above = parent ? this.liveShares("portfolio", parent, m.org, now) : [];
    if (m.role === "admin") for (const s of here) add(s.level);
    for (const g of this.grantsByUser.get(user) ?? []) {
      if (g.type !== type || g.id !== id || g.coop === null) continue;
      for (const L of JOB_LEVELS) {
        if (!levelAtLeast(g.level, L)) continue;
        if (L !== "viewer" && !full) continue;
        if ([...here, ...above].some((s) => levelAtLeast(s.level, L))) add(L);
      }
    }
    if (parent) for (const l of this.levels(user, "portfolio", parent, now)) held.add(l);
    return held;
  }

  decide(user: string, action: string, resource: { type: string; id: string }, now: Date): boolean {
    const m = this.members.get(user);
    if (resource.type === "organization") {
      return !!m && m.org === resource.id && (ORG_PERMISSIONS[action]?.includes(m.role) ?? false);
    }
    if (resource.type !== "park" && resource.type !== "portfolio") return false;
    const type = resource.type as ResourceType;
    const res = type === "park" ? this.parks.get(resource.id) : this.portfolios.get(resource.id);
    if (!m || !res) return false;
    const ownerAdmin = res.org === m.org && m.role === "admin";
    if (action === "can_share" || action === "can_view_audit_log") return ownerAdmin;
    if (action === "can_manage_access") {
      if (res.org === m.org && (m.role === "admin" || m.role === "moderator")) return true;
      if (m.role !== "admin") return false;
      const parent = type === "park" ? (this.parks.get(resource.id)?.portfolio ?? null) : null;
      return (
        this.liveShares(type, resource.id, m.org, now).length > 0 ||
        (parent !== null && this.liveShares("portfolio", parent, m.org, now).length > 0)
      );
    }
    const needs = LEVEL_PERMISSIONS[action];
    if (!needs) return false;
    const held = this.levels(user, type, resource.id, now);
    return needs.some((l) => held.has(l));
  }

  /** Every park on which `user` may do `action`: the brute-force answer to a resource search. */
  searchParks(user: string, action: string, now: Date): Set<string> {
    const out = new Set<string>();
    for (const id of this.parks.keys()) if (this.decide(user, action, { type: "park", id }, now)) out.add(id);
    return out;
  }
}
