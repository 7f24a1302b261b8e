import { randomUUID } from "node:crypto";
import type { JobLevel, OrgRole, ResourceType } from "../../src/engine/permissions.js";
import { runChange } from "../../src/engine-sync/unit-of-work.js";
import { grantTuples, parkTuples } from "../../src/kernel/tuples.js";
import { addMember, createOrganization } from "../../src/modules/organizations/verbs.js";
import type { TestContext } from "./app.js";

/** A unique, valid user id for one test. */
export function userId(label = "u"): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

export function emailOf(id: string): string {
  return `${id.toLowerCase()}@example.test`;
}

/** An organization with an admin and a first portfolio, through the service layer. */
export async function createOrg(
  t: TestContext,
  o: { admin?: string; name?: string; portfolioName?: string } = {},
): Promise<{ id: string; admin: string; portfolioId: string }> {
  const admin = o.admin ?? userId("admin");
  const created = await runChange(t.deps, t.actor("system"), (uow) =>
    createOrganization(uow, {
      name: o.name ?? `Org ${admin}`,
      adminUserId: admin,
      adminEmail: emailOf(admin),
      portfolioName: o.portfolioName ?? "First portfolio",
    }),
  );
  return { id: created.id, admin, portfolioId: created.portfolioId! };
}

/** Add a member with a role, through the service layer. */
export async function addMemberTo(t: TestContext, organizationId: string, role: OrgRole, id = userId(role)) {
  await runChange(t.deps, t.actor("system"), (uow) =>
    addMember(uow, { organizationId, userId: id, email: emailOf(id), role }),
  );
  return id;
}

/** Parks (rows + tuples) in one unit of work, for tests that need many. */
export async function parks(
  t: TestContext,
  orgId: string,
  portfolioId: string,
  ids: string[],
  nameOf = (id: string) => `Park ${id}`,
) {
  await runChange(t.deps, t.actor("system"), async (uow) => {
    for (const id of ids) {
      await uow.tx`insert into parks (id, portfolio_id, organization_id, name)
        values (${id}, ${portfolioId}, ${orgId}, ${nameOf(id)})`;
      uow.tuples([], parkTuples({ id, organizationId: orgId, portfolioId }));
    }
  });
  return ids;
}

export interface GrantInput {
  resourceType: ResourceType;
  resourceId: string;
  userId: string;
  level: JobLevel;
  organizationId: string;
  cooperationId?: string | null;
  grantedBy?: string;
}

/**
 * Grants (or delegations, with cooperationId) in one unit of work: rows +
 * tuples as the grants API writes them, without its authority checks.
 */
export async function grants(t: TestContext, list: GrantInput[]) {
  await runChange(t.deps, t.actor(list[0]?.grantedBy ?? "system"), async (uow) => {
    for (const g of list) {
      const cooperationId = g.cooperationId ?? null;
      await uow.tx`insert into grants (resource_type, resource_id, user_id, level, organization_id, cooperation_id, granted_by)
        values (${g.resourceType}, ${g.resourceId}, ${g.userId}, ${g.level}, ${g.organizationId},
          ${cooperationId}, ${g.grantedBy ?? "test"})`;
      uow.tuples([], grantTuples({ ...g, cooperationId }));
    }
  });
}
