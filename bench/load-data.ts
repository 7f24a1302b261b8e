import { randomUUID } from "node:crypto";
import { runChange, type UnitOfWork } from "../src/engine-sync/unit-of-work.js";
import type { ActorContext, Deps } from "../src/kernel/deps.js";
import { DomainError } from "../src/kernel/errors.js";
import { type Delta, grantTuples, parkTuples, portfolioTuples } from "../src/kernel/tuples.js";
import { activateCooperation, createPendingCooperation } from "../src/modules/cooperations/index.js";
import { addMember, createOrganization } from "../src/modules/organizations/verbs.js";
import { putGrant } from "../src/modules/resources/grants.js";
import { putPark, putPortfolio } from "../src/modules/resources/service.js";
import type { DatasetSpec, GrantSpec } from "./dataset.js";

/**
 * Load a generated dataset through the service layer: every change is a
 * runChange unit of work (rows + audit + tuple delta, engine write before
 * commit). Organizations, members and cooperations use the shared domain
 * verbs, many entities per unit for speed. For portfolios, parks, grants and
 * delegations the first `serviceSample` of each go through the resources
 * module's own service functions (authority check through the model, one unit
 * of work per call, as the HTTP API does: this also proves the generated data
 * passes R-O3/R-C8), and the rest insert their rows and the tuples of
 * src/kernel/tuples.ts in batched units (one call per entity would make a
 * 60,000-entity load take far longer than the measurements).
 */

export interface LoadReport {
  ms: number;
  /** Entities loaded one by one through the resources service, per kind. */
  servicePath: Record<string, { count: number; ms: number; perSecond: number }>;
  phases: Record<string, { ms: number; units: number }>;
  /** Tuples written minus tuples deleted, counted at the engine boundary. */
  tuples: number;
  orgIds: string[];
  coopIds: string[];
}

const ctx = (actorId = "bench-loader"): ActorContext => ({
  actorId,
  actorEmail: null,
  requestId: `bench-${randomUUID()}`,
});

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Run `jobs` with at most `parallel` in flight. */
async function pool<T>(jobs: T[], parallel: number, fn: (job: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await fn(jobs[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
}

/** A Deps whose engine counts the net tuples written. */
export function countingDeps(deps: Deps): { deps: Deps; count: () => number } {
  let n = 0;
  const engine = Object.create(deps.engine) as Deps["engine"];
  engine.write = async (d: Delta) => {
    await deps.engine.write(d);
    n += d.writes.length - d.deletes.length;
  };
  return { deps: { ...deps, engine }, count: () => n };
}

async function insertGrants(
  uow: UnitOfWork,
  gs: (Omit<GrantSpec, "org"> & { orgId: string; coopId: string | null })[],
) {
  if (!gs.length) return;
  const rows = gs.map((g) => ({
    resource_type: g.type,
    resource_id: g.resourceId,
    user_id: g.userId,
    level: g.level,
    organization_id: g.orgId,
    cooperation_id: g.coopId,
    granted_by: "bench-loader",
  }));
  await uow.tx`insert into grants ${uow.tx(rows)}`;
  for (const g of gs) {
    const t = { resourceType: g.type, resourceId: g.resourceId, userId: g.userId, level: g.level };
    uow.tuples([], grantTuples({ ...t, cooperationId: g.coopId }));
    uow.audit({
      action: g.coopId ? "delegation.set" : "grant.set",
      target: { type: g.type, id: g.resourceId },
      organizationIds: [g.orgId],
      before: null,
      after: { userId: g.userId, level: g.level, cooperationId: g.coopId },
    });
  }
}

export async function loadDataset(
  base: Deps,
  ds: DatasetSpec,
  opts: { parallel: number; batch: number; serviceSample: number; log: (m: string) => void },
): Promise<LoadReport> {
  const { deps, count } = countingDeps(base);
  const phases: LoadReport["phases"] = {};
  const servicePath: LoadReport["servicePath"] = {};
  const viaService = async <T>(name: string, all: T[], fn: (x: T) => Promise<unknown>): Promise<T[]> => {
    const sample = all.slice(0, opts.serviceSample);
    const s = performance.now();
    await pool(sample, opts.parallel, async (x) => void (await fn(x)));
    const ms = Math.round(performance.now() - s);
    servicePath[name] = {
      count: sample.length,
      ms,
      perSecond: Math.round((sample.length / Math.max(ms, 1)) * 10_000) / 10,
    };
    opts.log(`  ${name} via the resources service: ${sample.length} calls in ${ms} ms`);
    return all.slice(sample.length);
  };
  const adminOf = (org: number) => ds.orgs[org]!.users[0]!.id;
  const orgIds: string[] = new Array(ds.orgs.length);
  const coopIds: string[] = new Array(ds.cooperations.length);
  const t0 = performance.now();
  const phase = async <T>(name: string, jobs: T[], fn: (uow: UnitOfWork, job: T) => Promise<void>) => {
    const s = performance.now();
    // A unit the engine or the database did not take (a 503 to a client) is
    // rolled back and compensated by the unit of work; like a client, retry it.
    await pool(jobs, opts.parallel, async (job) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await runChange(deps, ctx(), (uow) => fn(uow, job));
        } catch (err) {
          if (attempt >= 3 || !(err instanceof DomainError && err.kind === "unavailable")) throw err;
          const cause = (err as { cause?: unknown }).cause;
          opts.log(`  ${name}: a unit answered ${err.code} (${String(cause ?? "")}); retry ${attempt}/2`);
          await new Promise((r) => setTimeout(r, 1000 * attempt));
        }
      }
    });
    phases[name] = { ms: Math.round(performance.now() - s), units: jobs.length };
    opts.log(`  ${name}: ${jobs.length} units in ${phases[name].ms} ms (${count()} tuples so far)`);
  };

  // Organizations with all their members: about `batch` users per unit of work.
  const perUnit = Math.max(1, Math.floor(opts.batch / Math.max(1, ds.orgs[0]?.users.length ?? 1)));
  await phase("organizations+members", chunks(ds.orgs, perUnit), async (uow, orgs) => {
    for (const o of orgs) {
      const [admin, ...rest] = o.users;
      const created = await createOrganization(uow, {
        name: o.name,
        adminUserId: admin!.id,
        adminEmail: admin!.email,
      });
      orgIds[o.index] = created.id;
      for (const u of rest) {
        await addMember(uow, { organizationId: created.id, userId: u.id, email: u.email, role: u.role });
      }
    }
  });

  const resources = ds.orgs.flatMap((o) => [
    ...o.portfolios.map((id) => ({ kind: "portfolio" as const, id, org: o.index, portfolioId: id })),
    ...o.parks.map((p) => ({ kind: "park" as const, id: p.id, org: o.index, portfolioId: p.portfolioId })),
  ]);
  // Portfolios before parks (foreign key): two passes.
  for (const kind of ["portfolio", "park"] as const) {
    const rest = await viaService(
      `${kind}s`,
      resources.filter((x) => x.kind === kind),
      (x) =>
        kind === "park"
          ? putPark(deps, ctx(adminOf(x.org)), {
              id: x.id,
              portfolioId: x.portfolioId,
              name: `Bench park ${x.id}`,
            })
          : putPortfolio(deps, ctx(adminOf(x.org)), {
              id: x.id,
              organizationId: orgIds[x.org]!,
              name: `Bench portfolio ${x.id}`,
            }),
    );
    await phase(`${kind}s`, chunks(rest, opts.batch), async (uow, rs) => {
      const rows = rs.map((x) => ({
        id: x.id,
        organization_id: orgIds[x.org]!,
        name: `Bench ${x.kind} ${x.id}`,
        ...(kind === "park" ? { portfolio_id: x.portfolioId } : {}),
      }));
      await uow.tx`insert into ${uow.tx(`${kind}s`)} ${uow.tx(rows)}`;
      for (const x of rs) {
        const organizationId = orgIds[x.org]!;
        uow.tuples(
          [],
          kind === "park"
            ? parkTuples({ id: x.id, organizationId, portfolioId: x.portfolioId })
            : portfolioTuples({ id: x.id, organizationId }),
        );
        uow.audit({
          action: `${kind}.created`,
          target: { type: kind, id: x.id },
          organizationIds: [organizationId],
          before: null,
          after: { name: `Bench ${x.kind} ${x.id}`, organizationId },
        });
      }
    });
  }

  const grants = await viaService("grants", ds.grants, (g) =>
    putGrant(deps, ctx(adminOf(g.org)), { type: g.type, id: g.resourceId, userId: g.userId, level: g.level }),
  );
  await phase("grants", chunks(grants, opts.batch), (uow, gs) =>
    insertGrants(
      uow,
      gs.map((g) => ({ ...g, orgId: orgIds[g.org]!, coopId: null })),
    ),
  );

  await phase(
    "cooperations",
    chunks(ds.cooperations, Math.max(1, Math.floor(opts.batch / 10))),
    async (uow, cs) => {
      for (const c of cs) {
        const row = await createPendingCooperation(uow, {
          ownerOrganizationId: orgIds[c.owner]!,
          partnerOrganizationId: orgIds[c.partner]!,
          expiresAt: c.expiresAt,
          shares: c.shares,
        });
        coopIds[c.index] = row.id;
        if (c.active) await activateCooperation(uow, row.id, orgIds[c.partner]!);
      }
    },
  );

  // Cooperations that expired already keep their delegations (R-C9: kept for resumption) but a
  // partner admin cannot make new ones there: those are never in the service-path sample.
  const now = new Date();
  const live = (c: (typeof ds.cooperations)[number]) => !c.expiresAt || c.expiresAt > now;
  const ordered = [...ds.cooperations.filter(live), ...ds.cooperations.filter((c) => !live(c))];
  const all = ordered.flatMap((c) =>
    c.delegations.map((d) => ({
      ...d,
      orgId: orgIds[c.partner]!,
      coopId: coopIds[c.index]!,
      by: adminOf(c.partner),
    })),
  );
  // R-C8: a partner admin delegates within the share's cap.
  const delegations = await viaService("delegations", all, (g) =>
    putGrant(deps, ctx(g.by), { type: g.type, id: g.resourceId, userId: g.userId, level: g.level }),
  );
  await phase("delegations", chunks(delegations, opts.batch), (uow, gs) => insertGrants(uow, gs));

  return { ms: Math.round(performance.now() - t0), phases, servicePath, tuples: count(), orgIds, coopIds };
}
