import type { JobLevel, ResourceType } from "../engine/permissions.js";
import { Conflict, NotFound } from "./errors.js";
import { newId } from "./organizations.js";
import { type CooperationState, cooperationTuples, shareTuples } from "./tuples.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * Shared cooperation verbs (used by invitations and the cooperations module).
 * They run inside a unit of work; callers check authority first.
 */

export interface ShareInput {
  resource: { type: ResourceType; id: string };
  level: JobLevel;
}

export interface CooperationRow {
  id: string;
  ownerOrganizationId: string;
  partnerOrganizationId: string | null;
  state: CooperationState;
  expiresAt: Date | null;
}

export async function lockCooperation(uow: UnitOfWork, id: string): Promise<CooperationRow> {
  const [r] = await uow.tx`select id, owner_organization_id, partner_organization_id, state, expires_at
    from cooperations where id = ${id} for update`;
  if (!r) throw NotFound("cooperation-not-found", `no cooperation ${id}`);
  return {
    id: r.id,
    ownerOrganizationId: r.owner_organization_id,
    partnerOrganizationId: r.partner_organization_id,
    state: r.state,
    expiresAt: r.expires_at,
  };
}

/** A pending cooperation with its shares (created with a cooperation invitation). Nothing is shared yet (R-C6). */
export async function createPendingCooperation(
  uow: UnitOfWork,
  c: {
    ownerOrganizationId: string;
    partnerOrganizationId: string | null;
    expiresAt: Date | null;
    shares: ShareInput[];
  },
): Promise<CooperationRow> {
  const id = newId("coop");
  try {
    await uow.tx`insert into cooperations (id, owner_organization_id, partner_organization_id, state, expires_at)
      values (${id}, ${c.ownerOrganizationId}, ${c.partnerOrganizationId}, 'pending', ${c.expiresAt})`;
  } catch (err) {
    if ((err as { code?: string }).code === "23505") {
      throw Conflict("cooperation-exists", "a cooperation between these organizations already exists");
    }
    throw err;
  }
  const row: CooperationRow = { id, ...c, state: "pending" };
  uow.tuples([], cooperationTuples(row));
  for (const s of c.shares) {
    await uow.tx`insert into shares (cooperation_id, resource_type, resource_id, level)
      values (${id}, ${s.resource.type}, ${s.resource.id}, ${s.level})`;
    uow.tuples(
      [],
      shareTuples({
        cooperationId: id,
        resourceType: s.resource.type,
        resourceId: s.resource.id,
        level: s.level,
      }),
    );
  }
  const orgs = [c.ownerOrganizationId, ...(c.partnerOrganizationId ? [c.partnerOrganizationId] : [])];
  uow.audit({
    action: "cooperation.created",
    target: { type: "cooperation", id },
    organizationIds: orgs,
    before: null,
    after: {
      state: "pending",
      partnerOrganizationId: c.partnerOrganizationId,
      expiresAt: c.expiresAt,
      shares: c.shares,
    },
  });
  return row;
}

/** Pending → active with the partner organization (invitation acceptance, R-I8). */
export async function activateCooperation(
  uow: UnitOfWork,
  id: string,
  partnerOrganizationId: string,
): Promise<CooperationRow> {
  const before = await lockCooperation(uow, id);
  if (before.state !== "pending")
    throw Conflict("cooperation-not-pending", `cooperation ${id} is ${before.state}`);
  try {
    await uow.tx`update cooperations set state = 'active', partner_organization_id = ${partnerOrganizationId}, updated_at = now()
      where id = ${id} and state = 'pending'`;
  } catch (err) {
    if ((err as { code?: string }).code === "23505") {
      throw Conflict("cooperation-exists", "a cooperation between these organizations already exists");
    }
    if ((err as { code?: string }).code === "23514") {
      throw Conflict("cooperation-with-itself", "an organization cannot cooperate with itself");
    }
    throw err;
  }
  const after: CooperationRow = { ...before, state: "active", partnerOrganizationId };
  uow.tuples(cooperationTuples(before), cooperationTuples(after));
  uow.audit({
    action: "cooperation.activated",
    target: { type: "cooperation", id },
    organizationIds: [before.ownerOrganizationId, partnerOrganizationId],
    before: { state: before.state },
    after: { state: "active", partnerOrganizationId },
  });
  return after;
}
