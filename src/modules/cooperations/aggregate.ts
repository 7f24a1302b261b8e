import type { JobLevel, ResourceType } from "../../engine/permissions.js";
import type { UnitOfWork } from "../../engine-sync/unit-of-work.js";
import { Conflict } from "../../kernel/errors.js";
import { newId } from "../../kernel/ids.js";
import { isPgError, PG } from "../../kernel/pg-errors.js";
import { type CooperationState, cooperationTuples, shareTuples } from "../../kernel/tuples.js";
import * as repo from "./repo.js";

/**
 * The cooperation aggregate: a cooperation, its shares and the delegations
 * made under it. This module is their one writer; every verb runs inside a
 * unit of work, and callers check authority first.
 *
 * Lock order (src/engine-sync/lock-order.ts): the parks and portfolios a verb
 * touches (class 3, FOR SHARE), then the cooperation rows in id order
 * (class 4, lockCooperation/lockCooperations), then shares and grants
 * (class 5). A verb that learns which cooperations touch a resource reads
 * them under the resource lock.
 *
 * The `partner` tuple is the one switch for everything shared
 * (cooperationTuples): pause and end drop it, resume writes it back, and
 * expiry is its `not_expired` condition, so pausing keeps shares and
 * delegations for resumption and expiry needs no job.
 */

export type CooperationRow = repo.CooperationRow;

export interface ShareInput {
  resource: { type: ResourceType; id: string };
  level: JobLevel;
}

/** Both sides of a cooperation, for audit visibility (R-A2). */
export function cooperationOrgIds(c: CooperationRow): string[] {
  return [c.ownerOrganizationId, ...(c.partnerOrganizationId ? [c.partnerOrganizationId] : [])];
}

/** Class 4: one cooperation row, locked for the change. */
export async function lockCooperation(uow: UnitOfWork, id: string): Promise<CooperationRow> {
  const { createdAt: _, ...c } = await repo.loadCooperation(uow.tx, id, true);
  return c;
}

/** Class 4: cooperations in id order. */
export async function lockCooperations(uow: UnitOfWork, ids: string[]): Promise<CooperationRow[]> {
  const out: CooperationRow[] = [];
  for (const id of [...new Set(ids)].sort()) out.push(await lockCooperation(uow, id));
  return out;
}

/** Class 4 under a resource's lock (class 3): the non-ended cooperations sharing or delegating it. */
export async function lockCooperationsOn(
  uow: UnitOfWork,
  resource: { type: ResourceType; id: string },
): Promise<CooperationRow[]> {
  return lockCooperations(uow, await repo.cooperationsOn(uow.tx, resource.type, resource.id));
}

/** Lock the row and refuse changes to an ended cooperation. */
export async function lockOpen(uow: UnitOfWork, id: string): Promise<CooperationRow> {
  const c = await lockCooperation(uow, id);
  if (c.state === "ended") throw Conflict("cooperation-ended", `cooperation ${id} has ended`);
  return c;
}

/** The pair rules of the cooperations table (one open cooperation per pair; not with itself) as conflicts. */
async function pairConstraints(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (isPgError(err, PG.uniqueViolation))
      throw Conflict("cooperation-exists", "a cooperation between these organizations already exists");
    if (isPgError(err, PG.checkViolation))
      throw Conflict("cooperation-with-itself", "an organization cannot cooperate with itself");
    throw err;
  }
}

/** A pending cooperation with its shares (created with a cooperation invitation). Nothing is shared yet (R-C6). */
export async function createPendingCooperation(
  uow: UnitOfWork,
  c: Omit<CooperationRow, "id" | "state"> & { shares: ShareInput[] },
): Promise<CooperationRow> {
  const row: CooperationRow = {
    id: newId("coop"),
    ownerOrganizationId: c.ownerOrganizationId,
    partnerOrganizationId: c.partnerOrganizationId,
    state: "pending",
    expiresAt: c.expiresAt,
  };
  await pairConstraints(repo.insertPending(uow.tx, row));
  uow.tuples([], cooperationTuples(row));
  for (const s of c.shares) {
    const share = {
      cooperationId: row.id,
      resourceType: s.resource.type,
      resourceId: s.resource.id,
      level: s.level,
    };
    await repo.insertShare(uow.tx, share);
    uow.tuples([], shareTuples(share));
  }
  uow.audit({
    action: "cooperation.created",
    target: { type: "cooperation", id: row.id },
    organizationIds: cooperationOrgIds(row),
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
  await pairConstraints(repo.activate(uow.tx, id, partnerOrganizationId));
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

/** R-C5: an active cooperation whose expiry has passed reads `expired` (computed, never stored). */
export type ReadState = CooperationState | "expired";
export function readState(c: Pick<CooperationRow, "state" | "expiresAt">, now: Date): ReadState {
  if (c.state === "active" && c.expiresAt && c.expiresAt.getTime() <= now.getTime()) return "expired";
  return c.state;
}

/** R-C5: set, extend or clear the expiry; the partner tuple's condition follows. */
export async function setCooperationExpiry(
  uow: UnitOfWork,
  id: string,
  expiresAt: Date | null,
): Promise<void> {
  const before = await lockOpen(uow, id);
  if (!(await repo.setExpiry(uow.tx, id, expiresAt)))
    throw Conflict("cooperation-ended", `cooperation ${id} has ended`);
  const after: CooperationRow = { ...before, expiresAt };
  uow.tuples(cooperationTuples(before), cooperationTuples(after));
  uow.audit({
    action: "cooperation.expiry.set",
    target: { type: "cooperation", id },
    organizationIds: cooperationOrgIds(before),
    before: { expiresAt: before.expiresAt },
    after: { expiresAt },
  });
}
