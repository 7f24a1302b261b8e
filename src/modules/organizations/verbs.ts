import type { OrgRole } from "../../engine/permissions.js";
import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import { Conflict } from "../../kernel/errors.js";
import { newId } from "../../kernel/ids.js";
import { membershipTuples } from "../../kernel/tuples.js";
import { insertPortfolio } from "../resources/index.js";
import { ensureUser } from "../users/index.js";
import * as repo from "./repo.js";

/**
 * Shared verbs used by invitations (which create organizations and add
 * members) and by the management API. They run inside a unit of work; the
 * caller has already checked authority.
 */

/** Add a member (R-O7: the primary key on memberships refuses a second organization). */
export async function addMember(
  uow: UnitOfWork,
  m: { organizationId: string; userId: string; email: string | null; role: OrgRole },
): Promise<void> {
  await ensureUser(uow.tx, m.userId, m.email);
  const alreadyMember = (organizationId: string | undefined) =>
    Conflict("already-member", "the user already belongs to an organization; leave it first", {
      organizationId,
    });
  const current = await repo.organizationOfMember(uow.tx, m.userId, true);
  if (current) throw alreadyMember(current);
  if (!(await repo.insertMembership(uow.tx, m))) {
    throw alreadyMember(await repo.organizationOfMember(uow.tx, m.userId));
  }
  const { organizationId, userId, role } = m;
  uow.created(membershipTuples(m), {
    action: "member.added",
    target: { type: "user", id: userId },
    organizationIds: [organizationId],
    after: { organizationId, role },
  });
}

export interface CreatedOrganization {
  id: string;
  name: string;
  portfolioId: string | null;
}

/**
 * Create an organization with its first admin and, optionally, its first
 * portfolio (platform invitation acceptance, R-I6; cooperation acceptance, R-I8).
 */
export async function createOrganization(
  uow: UnitOfWork,
  o: { name: string; adminUserId: string; adminEmail: string | null; portfolioName?: string },
): Promise<CreatedOrganization> {
  const id = newId("org");
  await repo.insertOrganization(uow.tx, { id, name: o.name });
  uow.audit({
    action: "organization.created",
    target: { type: "organization", id },
    organizationIds: [id],
    after: { name: o.name },
  });
  await addMember(uow, { organizationId: id, userId: o.adminUserId, email: o.adminEmail, role: "admin" });
  let portfolioId: string | null = null;
  if (o.portfolioName) {
    portfolioId = newId("pf");
    await insertPortfolio(uow, { id: portfolioId, organizationId: id, name: o.portfolioName });
  }
  return { id, name: o.name, portfolioId };
}
