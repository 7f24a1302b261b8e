import { randomUUID } from "node:crypto";
import { addMember, createOrganization } from "../../src/domain/organizations.js";
import { runChange } from "../../src/domain/unit-of-work.js";
import type { OrgRole } from "../../src/engine/permissions.js";
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
