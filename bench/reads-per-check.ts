/**
 * Datastore reads per Check on the built-in model: OpenFGA's own
 * `openfga_datastore_query_count` histogram (sum / count over the checks of a
 * phase), for allows and denies separately, over a small world built with the
 * service's tuple mappers. Run: `npx tsx bench/reads-per-check.ts` (prints JSON).
 * Used to compare model and mapper changes (bench/README.md, "Reads per check").
 */
import { spawn } from "node:child_process";
import { bootstrapEngine, loadModelFile } from "../src/engine/bootstrap.js";
import { type CheckItem, Engine } from "../src/engine/client.js";
import { JOB_LEVELS, ORG_ROLES, PUBLIC_PERMISSIONS } from "../src/engine/permissions.js";
import {
  cooperationTuples,
  grantTuples,
  membershipTuples,
  parkTuples,
  portfolioTuples,
  shareTuples,
  type Tuple,
} from "../src/kernel/tuples.js";
import { findOpenFgaBinary, OPENFGA_LIMIT_FLAGS } from "../src/local/openfga.js";
import { freePort, waitFor } from "../src/local/ports.js";

const ROLES = ORG_ROLES;
const LEVELS = JOB_LEVELS;

function world(orgs = 12): { tuples: Tuple[]; users: string[]; objects: string[] } {
  const tuples: Tuple[] = [];
  const users: string[] = [];
  const objects: string[] = [];
  for (let o = 0; o < orgs; o++) {
    const org = `o${o}`;
    const pf = `pf${o}`;
    tuples.push(...portfolioTuples({ id: pf, organizationId: org }));
    objects.push(`portfolio:${pf}`);
    for (let p = 0; p < 3; p++) {
      tuples.push(...parkTuples({ id: `pk${o}_${p}`, organizationId: org, portfolioId: pf }));
      objects.push(`park:pk${o}_${p}`);
    }
    ROLES.forEach((role, i) => {
      const u = `u${o}_${i}`;
      users.push(u);
      tuples.push(...membershipTuples({ userId: u, organizationId: org, role }));
      if (role === "member" || role === "external")
        tuples.push(
          ...grantTuples({
            resourceType: "park",
            resourceId: `pk${o}_0`,
            userId: u,
            level: LEVELS[o % 4]!,
            cooperationId: null,
          }),
        );
    });
  }
  for (let c = 0; c < orgs; c++) {
    const owner = `o${c}`;
    const partner = `o${(c + 1) % orgs}`;
    const id = `c${c}`;
    tuples.push(
      ...cooperationTuples({
        id,
        ownerOrganizationId: owner,
        partnerOrganizationId: partner,
        state: "active",
        expiresAt: c % 3 === 0 ? new Date(Date.now() + 86_400_000) : null,
      }),
      ...shareTuples({
        cooperationId: id,
        resourceType: "park",
        resourceId: `pk${c}_1`,
        level: LEVELS[c % 4]!,
      }),
      ...shareTuples({ cooperationId: id, resourceType: "portfolio", resourceId: `pf${c}`, level: "viewer" }),
      ...grantTuples({
        resourceType: "park",
        resourceId: `pk${c}_1`,
        userId: `u${(c + 1) % orgs}_4`,
        level: "viewer",
        cooperationId: id,
      }),
    );
  }
  return { tuples, users, objects };
}

async function queryCount(metricsUrl: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("openfga_datastore_query_count") || !line.includes('grpc_method="check"')) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("openfga_datastore_query_count_sum")) sum += v;
    if (line.startsWith("openfga_datastore_query_count_count")) count += v;
  }
  return { sum, count };
}

async function main() {
  const bin = await findOpenFgaBinary();
  const [http, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    bin,
    [
      "run",
      "--datastore-engine=memory",
      `--http-addr=127.0.0.1:${http}`,
      `--grpc-addr=127.0.0.1:${grpc}`,
      "--playground-enabled=false",
      "--metrics-enabled=true",
      `--metrics-addr=127.0.0.1:${metrics}`,
      "--log-level=warn",
      ...OPENFGA_LIMIT_FLAGS,
    ],
    { stdio: "ignore" },
  );
  try {
    const url = `http://127.0.0.1:${http}`;
    await waitFor(
      async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok === true,
      30_000,
      "OpenFGA",
    );
    const engine = new Engine({ apiUrl: url, timeoutMs: 10_000, searchTimeoutMs: 30_000 });
    await bootstrapEngine(engine, { storeName: "reads-per-check", model: await loadModelFile() });
    const w = world();
    await engine.write({ writes: w.tuples, deletes: [] });
    const items: CheckItem[] = [];
    for (const u of w.users)
      for (const o of w.objects) {
        const type = o.slice(0, o.indexOf(":"));
        for (const rel of ["can_view", "can_edit_details", "can_use_vpn", "can_manage_access"])
          if (PUBLIC_PERMISSIONS[type]?.has(rel)) items.push({ user: `user:${u}`, relation: rel, object: o });
      }
    const results = { allow: { checks: 0, reads: 0 }, deny: { checks: 0, reads: 0 } };
    const mUrl = `http://127.0.0.1:${metrics}/metrics`;
    // Every 5th question: a sample of about 2,800 checks (allows and denies of every path).
    for (const it of items.filter((_, i) => i % 5 === 0)) {
      const before = await queryCount(mUrl);
      const allowed = await engine.check(it);
      const after = await queryCount(mUrl);
      const r = results[allowed ? "allow" : "deny"];
      r.checks++;
      r.reads += after.sum - before.sum;
    }
    const per = (r: { checks: number; reads: number }) =>
      Math.round((r.reads / Math.max(1, r.checks)) * 100) / 100;
    console.log(
      JSON.stringify(
        {
          tuples: w.tuples.length,
          allow: { checks: results.allow.checks, readsPerCheck: per(results.allow) },
          deny: { checks: results.deny.checks, readsPerCheck: per(results.deny) },
        },
        null,
        2,
      ),
    );
    engine.close();
  } finally {
    child.kill("SIGTERM");
  }
}

await main();
