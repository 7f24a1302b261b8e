import type { Bench } from "./bench.js";
import { cursor, fire, type LoadResult } from "./cannon.js";
import { caseBody } from "./cases.js";
import { round } from "./procs.js";

/**
 * Phase 5: management changes under load. Each workflow runs alone for the
 * phase duration while a decision load runs beside it; a decision-only run
 * with the same connections first gives the baseline latency.
 */

export interface WorkflowRun {
  connections: number;
  load: LoadResult;
  /** Completed operations (2xx on the final step) per second. */
  operationsPerSecond: number;
  operations: number;
  decisionsDuring: LoadResult;
}

export interface WorkflowResult {
  decisionConnections: number;
  decisionsBaseline: LoadResult;
  roleChanges: WorkflowRun | { skipped: string };
  invitationAccepts: WorkflowRun | { skipped: string };
}

function decisionStep(b: Bench) {
  const bodies = b.cases.map((c) => JSON.stringify(caseBody(c)));
  const next = cursor(b.stream);
  return () => ({ path: "/access/v1/evaluation", body: bodies[next()] });
}

async function probe(b: Bench, method: string, path: string, actor: string, body: unknown) {
  const res = await fetch(`${b.sidecar.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${b.apiKey}`, "x-actor-id": actor },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
}

export async function workflows(b: Bench): Promise<WorkflowResult> {
  const { durationS, connections } = b.opts;
  const dConn = Math.max(1, Math.floor(connections / 2));
  const wConn = Math.max(1, Math.floor(connections / 4));
  const headers = { authorization: `Bearer ${b.apiKey}` };
  const decisions = () =>
    fire({ url: b.sidecar.url, connections: dConn, durationS, headers, steps: [decisionStep(b)] });
  b.log("  decision baseline…");
  const decisionsBaseline = await decisions();

  const adminOf = new Map<string, string>();
  for (const [user, m] of b.world.members) if (m.role === "admin") adminOf.set(m.org, user);

  // Role changes: members toggled member ⇄ asset_manager_commercial by their organization's admin.
  const candidates = [...b.world.members.entries()]
    .filter(([, m]) => m.role === "member")
    .map(([user, m]) => ({ user, org: m.org, role: "member" as string }));
  let roleChanges: WorkflowRun | { skipped: string };
  const first = candidates[0];
  const tryIt = first
    ? await probe(
        b,
        "PUT",
        `/v1/organizations/${first.org}/members/${first.user}/role`,
        adminOf.get(first.org)!,
        {
          role: "member",
        },
      )
    : { status: 0, text: "no member to change" };
  // Only a missing route skips the workflow; any other error is measured and reported.
  if (tryIt.status === 404 || tryIt.status === 0) {
    roleChanges = {
      skipped: `PUT …/members/{userId}/role answered ${tryIt.status}: ${tryIt.text.slice(0, 200)}`,
    };
  } else {
    let i = 0;
    let done = 0;
    const step = () => {
      const c = candidates[i++ % candidates.length]!;
      c.role = c.role === "member" ? "asset_manager_commercial" : "member";
      return {
        method: "PUT",
        path: `/v1/organizations/${c.org}/members/${c.user}/role`,
        body: JSON.stringify({ role: c.role }),
        headers: { "x-actor-id": adminOf.get(c.org)! },
        check: (status: number): [number, number, number] => {
          if (status >= 200 && status < 300) done++;
          return [0, 0, 0];
        },
      };
    };
    b.log("  role changes…");
    const [load, decisionsDuring] = await Promise.all([
      fire({
        url: b.sidecar.url,
        connections: Math.min(wConn, candidates.length),
        durationS,
        headers,
        steps: [step],
      }),
      decisions(),
    ]);
    roleChanges = {
      connections: wConn,
      load,
      operations: done,
      operationsPerSecond: round(done / load.durationS),
      decisionsDuring,
    };
  }

  // Invitation accepts: an admin invites a new email, the new user accepts with the token (R-I7).
  let invitationAccepts: WorkflowRun | { skipped: string };
  const orgs = [...adminOf.keys()];
  const runTag = Date.now().toString(36);
  let n = 0;
  const inviteBody = () => {
    const org = orgs[n % orgs.length]!;
    const user = `bi-${runTag}-${n++}`;
    return { org, user, email: `${user}@bench.example` };
  };
  const p = inviteBody();
  const probeInvite = await probe(b, "POST", "/v1/invitations", adminOf.get(p.org)!, {
    type: "organization",
    organizationId: p.org,
    email: p.email,
    role: "member",
  });
  if (probeInvite.status === 404) {
    invitationAccepts = {
      skipped: `POST /v1/invitations answered ${probeInvite.status}: ${probeInvite.text.slice(0, 200)}`,
    };
  } else {
    let accepted = 0;
    const create = (ctx: Record<string, unknown>) => {
      const inv = inviteBody();
      ctx.invitee = inv;
      ctx.token = undefined;
      return {
        path: "/v1/invitations",
        body: JSON.stringify({
          type: "organization",
          organizationId: inv.org,
          email: inv.email,
          role: "member",
        }),
        headers: { "x-actor-id": adminOf.get(inv.org)! },
        check: (status: number, text: string, c: Record<string, unknown>): [number, number, number] => {
          if (status === 201) c.token = (JSON.parse(text) as { token: string }).token;
          return [0, 0, 0];
        },
      };
    };
    const accept = (ctx: Record<string, unknown>) => {
      const inv = ctx.invitee as ReturnType<typeof inviteBody>;
      if (!ctx.token) return null;
      return {
        path: "/v1/invitations/accept",
        body: JSON.stringify({ token: ctx.token }),
        headers: { "x-actor-id": inv.user, "x-actor-email": inv.email },
        check: (status: number): [number, number, number] => {
          if (status === 200) accepted++;
          return [0, 0, 0];
        },
      };
    };
    b.log("  invitation create+accept…");
    const [load, decisionsDuring] = await Promise.all([
      fire({ url: b.sidecar.url, connections: wConn, durationS, headers, steps: [create, accept] }),
      decisions(),
    ]);
    invitationAccepts = {
      connections: wConn,
      load,
      operations: accepted,
      operationsPerSecond: round(accepted / load.durationS),
      decisionsDuring,
    };
  }
  return { decisionConnections: dConn, decisionsBaseline, roleChanges, invitationAccepts };
}
