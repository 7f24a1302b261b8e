import { requirePermission } from "../../engine/authorize.js";
import { engineObject } from "../../engine/ids.js";
import type { ResourceType } from "../../engine/permissions.js";
import { runChange, type UnitOfWork } from "../../engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Conflict, NotFound } from "../../kernel/errors.js";
import { isPgError, PG } from "../../kernel/pg-errors.js";
import { parkTuples, portfolioTuples } from "../../kernel/tuples.js";
import { detachResourceFromCooperations, lockCooperationsOn } from "../cooperations/index.js";
import { removeAllAccess } from "./access.js";
import { retryOnDeadlock } from "./levels.js";
import * as repo from "./repo.js";

/**
 * Resource verbs (R-H1, R-H2): idempotent upserts of portfolios and parks,
 * moves within an organization, deletion with all access to the resource.
 */

export interface Upserted<T> {
  resource: T;
  created: boolean;
}

export async function putPortfolio(
  deps: Deps,
  ctx: ActorContext,
  input: { id: string; organizationId: string; name: string },
): Promise<Upserted<repo.PortfolioRow>> {
  await requirePermission(
    deps,
    ctx.actorId,
    "can_create_portfolio",
    engineObject("organization", input.organizationId),
  );
  return runChange(deps, ctx, async (uow) => {
    let before = await repo.findPortfolio(uow.tx, input.id, "update");
    if (!before) {
      const created = await insertPortfolio(uow, input);
      if (created) return { resource: created, created: true };
      // A concurrent request created it first: continue as an update.
      before = (await repo.findPortfolio(uow.tx, input.id, "update"))!;
    }
    if (before.organizationId !== input.organizationId) {
      throw Conflict("portfolio-owned-elsewhere", `portfolio ${input.id} belongs to another organization`);
    }
    if (before.name === input.name) return { resource: before, created: false };
    const after = await repo.renamePortfolio(uow.tx, input.id, input.name);
    uow.audit({
      action: "portfolio.updated",
      target: { type: "portfolio", id: input.id },
      organizationIds: [before.organizationId],
      before: { name: before.name },
      after: { name: after.name },
    });
    return { resource: after, created: false };
  });
}

/** A new portfolio: row, owner tuple, audit; null when the id exists (a concurrent create). */
export async function insertPortfolio(
  uow: UnitOfWork,
  p: { id: string; organizationId: string; name: string },
): Promise<repo.PortfolioRow | null> {
  const created = await repo.insertPortfolio(uow.tx, p);
  if (!created) return null;
  const { id, name, organizationId } = created;
  uow.created(portfolioTuples(created), {
    action: "portfolio.created",
    target: { type: "portfolio", id },
    organizationIds: [organizationId],
    after: { name, organizationId },
  });
  return created;
}

export async function putPark(
  deps: Deps,
  ctx: ActorContext,
  input: { id: string; portfolioId: string; name: string },
): Promise<Upserted<repo.ParkRow>> {
  const target = await repo.loadResource(deps.sql, "portfolio", input.portfolioId);
  await requirePermission(
    deps,
    ctx.actorId,
    "can_create_park",
    engineObject("organization", target.organizationId),
  );
  try {
    return await retryOnDeadlock(() =>
      runChange(deps, ctx, (uow) => upsertPark(uow, input, target.organizationId)),
    );
  } catch (err) {
    // The portfolio was deleted between the look-up and the insert (the composite key refuses).
    if (isPgError(err, PG.foreignKeyViolation))
      throw NotFound("portfolio-not-found", `no portfolio ${input.portfolioId}`);
    throw err;
  }
}

async function upsertPark(
  uow: UnitOfWork,
  input: { id: string; portfolioId: string; name: string },
  organizationId: string,
): Promise<Upserted<repo.ParkRow>> {
  let before = (await lockForChange(uow, "park", input.id)) as repo.ParkRow | null;
  if (!before) {
    const created = await repo.insertPark(uow.tx, { ...input, organizationId });
    if (created) {
      uow.created(parkTuples(created), {
        action: "park.created",
        target: { type: "park", id: created.id },
        organizationIds: [organizationId],
        after: { name: created.name, portfolioId: created.portfolioId, organizationId },
      });
      return { resource: created, created: true };
    }
    before = (await repo.findPark(uow.tx, input.id, "update"))!;
  }
  // R-H2: a park never changes organization; its portfolio must be the owner's.
  if (before.organizationId !== organizationId) {
    throw Conflict(
      "park-in-other-organization",
      `park ${input.id} belongs to another organization than portfolio ${input.portfolioId}`,
    );
  }
  if (before.name === input.name && before.portfolioId === input.portfolioId) {
    return { resource: before, created: false };
  }
  const after = await repo.updatePark(uow.tx, input.id, input.portfolioId, input.name);
  // R-H1: moving is one tuple change; access inherited from the portfolio follows.
  uow.tuples(parkTuples(before), parkTuples(after));
  uow.audit({
    action: before.portfolioId === after.portfolioId ? "park.updated" : "park.moved",
    target: { type: "park", id: input.id },
    organizationIds: [organizationId],
    before: { name: before.name, portfolioId: before.portfolioId },
    after: { name: after.name, portfolioId: after.portfolioId },
  });
  // R-C9: delegations on the park that no share of their cooperation covers any more go.
  if (before.portfolioId !== after.portfolioId) {
    await detachResourceFromCooperations(uow, { type: "park", id: after.id }, { deleted: false });
  }
  return { resource: after, created: false };
}

/**
 * Lock a park or portfolio for a move or delete, in the lock order
 * (src/engine-sync/lock-order.ts): the resource row first, then the cooperations
 * touching it, read under the row lock (no share or delegation can be added
 * to it meanwhile).
 */
async function lockForChange(uow: UnitOfWork, type: ResourceType, id: string) {
  const row =
    type === "park"
      ? await repo.findPark(uow.tx, id, "update")
      : await repo.findPortfolio(uow.tx, id, "update");
  if (row) await lockCooperationsOn(uow, { type, id });
  return row;
}

/** Admins and moderators of the owner (the model's manage_own_access); a portfolio must be empty. */
export async function deleteResource(
  deps: Deps,
  ctx: ActorContext,
  type: ResourceType,
  id: string,
): Promise<void> {
  await repo.loadResource(deps.sql, type, id);
  await requirePermission(deps, ctx.actorId, "manage_own_access", engineObject(type, id));
  await retryOnDeadlock(() =>
    runChange(deps, ctx, async (uow) => {
      const row = await lockForChange(uow, type, id);
      if (!row) throw NotFound(`${type}-not-found`, `no ${type} ${id}`);
      // The row lock conflicts with the key-share lock a concurrent park insert takes, so "empty" holds.
      if (type === "portfolio" && (await repo.portfolioHasParks(uow.tx, id))) {
        throw Conflict("portfolio-not-empty", `portfolio ${id} still holds parks`);
      }
      await removeAllAccess(uow, type, id, row.organizationId);
      await repo.deleteResourceRow(uow.tx, type, id);
      uow.tuples(type === "park" ? parkTuples(row as repo.ParkRow) : portfolioTuples(row), []);
      uow.audit({
        action: `${type}.deleted`,
        target: { type, id },
        organizationIds: [row.organizationId],
        before: {
          name: row.name,
          organizationId: row.organizationId,
          ...("portfolioId" in row ? { portfolioId: row.portfolioId } : {}),
        },
        after: null,
      });
    }),
  );
}
