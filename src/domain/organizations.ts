import { randomUUID } from "node:crypto";
import type { OrgRole } from "../engine/permissions.js";
import { Conflict } from "./errors.js";
import { membershipTuples, portfolioTuples } from "./tuples.js";
import type { UnitOfWork } from "./unit-of-work.js";
import { ensureUser } from "./users.js";

/**
 * Shared verbs used by invitations (which create organizations and add
 * members) and by the management API. They run inside a unit of work; the
 * caller has already checked authority.
 */

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll("-", "")}`;
}

/** Add a member (R-O7: the primary key on memberships refuses a second organization). */
export async function addMember(
  uow: UnitOfWork,
  m: { organizationId: string; userId: string; email: string | null; role: OrgRole },
): Promise<void> {
  await ensureUser(uow.tx, m.userId, m.email);
  const [current] =
    await uow.tx`select organization_id from memberships where user_id = ${m.userId} for update`;
  if (current) {
    throw Conflict("already-member", "the user already belongs to an organization; leave it first", {
      organizationId: current.organization_id,
    });
  }
  const inserted = await uow.tx`insert into memberships (user_id, organization_id, role)
    values (${m.userId}, ${m.organizationId}, ${m.role}) on conflict (user_id) do nothing returning user_id`;
  if (inserted.length === 0) {
    const [now] = await uow.tx`select organization_id from memberships where user_id = ${m.userId}`;
    throw Conflict("already-member", "the user already belongs to an organization; leave it first", {
      organizationId: now?.organization_id,
    });
  }
  uow.tuples([], membershipTuples(m));
  uow.audit({
    action: "member.added",
    target: { type: "user", id: m.userId },
    organizationIds: [m.organizationId],
    before: null,
    after: { organizationId: m.organizationId, role: m.role },
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
  await uow.tx`insert into organizations (id, name) values (${id}, ${o.name})`;
  uow.audit({
    action: "organization.created",
    target: { type: "organization", id },
    organizationIds: [id],
    before: null,
    after: { name: o.name },
  });
  await addMember(uow, { organizationId: id, userId: o.adminUserId, email: o.adminEmail, role: "admin" });
  let portfolioId: string | null = null;
  if (o.portfolioName) {
    portfolioId = newId("pf");
    await uow.tx`insert into portfolios (id, organization_id, name) values (${portfolioId}, ${id}, ${o.portfolioName})`;
    uow.tuples([], portfolioTuples({ id: portfolioId, organizationId: id }));
    uow.audit({
      action: "portfolio.created",
      target: { type: "portfolio", id: portfolioId },
      organizationIds: [id],
      before: null,
      after: { name: o.portfolioName, organizationId: id },
    });
  }
  return { id, name: o.name, portfolioId };
}
