import type { Sql } from "../../db/pool.js";

/**
 * Resources of a type on which a user may hold any permission, as the
 * database names them: a superset of every path of the built-in model
 * (model.fga). The engine still decides every candidate; this only replaces
 * ListObjects' walk over the whole store, which on a large store runs into
 * its deadline for partner admins.
 *
 * - the resources of the user's organization (roles' baselines, own grants,
 *   can_manage_access / can_share / can_view_audit_log of admins);
 * - resources shared with a cooperation in which that organization is the
 *   partner (shared admins, delegations), and the parks of shared portfolios;
 * - resources the user holds a grant or delegation on, and the parks of
 *   such portfolios.
 */
export async function candidateResources(
  sql: Sql,
  userId: string,
  type: "park" | "portfolio",
): Promise<string[]> {
  const rows =
    type === "portfolio"
      ? await sql`
      with orgs as (select organization_id from memberships where user_id = ${userId}),
      coops as (select id from cooperations where state <> 'ended'
        and partner_organization_id in (select organization_id from orgs))
      select id from portfolios where organization_id in (select organization_id from orgs)
      union select resource_id from shares where resource_type = 'portfolio' and cooperation_id in (select id from coops)
      union select resource_id from grants where resource_type = 'portfolio' and user_id = ${userId}`
      : await sql`
      with orgs as (select organization_id from memberships where user_id = ${userId}),
      coops as (select id from cooperations where state <> 'ended'
        and partner_organization_id in (select organization_id from orgs)),
      shared as (select resource_type, resource_id from shares where cooperation_id in (select id from coops)),
      granted as (select resource_type, resource_id from grants where user_id = ${userId})
      select id from parks where organization_id in (select organization_id from orgs)
      union select resource_id from shared where resource_type = 'park'
      union select p.id from parks p join shared s on s.resource_type = 'portfolio' and p.portfolio_id = s.resource_id
      union select resource_id from granted where resource_type = 'park'
      union select p.id from parks p join granted g on g.resource_type = 'portfolio' and p.portfolio_id = g.resource_id`;
  return rows.map((r) => r.id ?? r.resource_id) as string[];
}

/** Organizations on which a user may hold a permission: only their own (organization permissions are roles). */
export async function candidateOrganizations(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql`select organization_id from memberships where user_id = ${userId}`;
  return rows.map((r) => r.organization_id as string);
}
