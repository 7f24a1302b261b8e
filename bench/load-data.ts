import { randomUUID } from "node:crypto";
import { activateCooperation, createPendingCooperation } from "../src/domain/cooperations.js";
import type { ActorContext, Deps } from "../src/domain/deps.js";
import { addMember, createOrganization } from "../src/domain/organizations.js";
import { type Delta, grantTuples, parkTuples, portfolioTuples } from "../src/domain/tuples.js";
import { runChange, type UnitOfWork } from "../src/domain/unit-of-work.js";
import type { DatasetSpec, GrantSpec } from "./dataset.js";

/**
 * Load a generated dataset through the service layer: every change is a
 * runChange unit of work (rows + audit + tuple delta, engine write before
 * commit), many entities per unit for speed. Organizations, members and
 * cooperations use the shared domain verbs; portfolios, parks, grants and
 * delegations insert their rows and the tuples of src/domain/tuples.ts
 * (the resources service authorizes and commits one entity per call, which
 * would make a 60,000-entity load take far longer than the measurements).
 */

export interface LoadReport {
  ms: number;
  phases: Record<string, { ms: number; units: number }>;
  /** Tuples written minus tuples deleted, counted at the engine boundary. */
  tuples: number;
  orgIds: string[];
  coopIds: string[];
}

const ctx = (): ActorContext => ({
  actorId: "bench-loader",
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
  opts: { parallel: number; batch: number; log: (m: string) => void },
): Promise<LoadReport> {
  const { deps, count } = countingDeps(base);
  const phases: LoadReport["phases"] = {};
  const orgIds: string[] = new Array(ds.orgs.length);
  const coopIds: string[] = new Array(ds.cooperations.length);
  const t0 = performance.now();
  const phase = async <T>(name: string, jobs: T[], fn: (uow: UnitOfWork, job: T) => Promise<void>) => {
    const s = performance.now();
    await pool(jobs, opts.parallel, (job) => runChange(deps, ctx(), (uow) => fn(uow, job)));
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
    await phase(
      `${kind}s`,
      chunks(
        resources.filter((x) => x.kind === kind),
        opts.batch,
      ),
      async (uow, rs) => {
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
      },
    );
  }

  await phase("grants", chunks(ds.grants, opts.batch), (uow, gs) =>
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

  const delegations = ds.cooperations.flatMap((c) =>
    c.delegations.map((d) => ({ ...d, orgId: orgIds[c.partner]!, coopId: coopIds[c.index]! })),
  );
  await phase("delegations", chunks(delegations, opts.batch), (uow, gs) => insertGrants(uow, gs));

  return { ms: Math.round(performance.now() - t0), phases, tuples: count(), orgIds, coopIds };
}
