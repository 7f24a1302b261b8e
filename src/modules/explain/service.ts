import { can } from "../../engine/authorize.js";
import { engineObject } from "../../engine/ids.js";
import type { JobLevel } from "../../engine/permissions.js";
import type { ActorContext, Deps } from "../../kernel/deps.js";
import { Forbidden, NotFound } from "../../kernel/errors.js";
import { PLATFORM_OBJECT } from "../../kernel/tuples.js";
import { metrics } from "../../metrics.js";
import { evaluate } from "../decisions/index.js";
import type { ResourceFacts, ResourceSnapshot } from "./facts.js";
import { type Missing, organizationHints, platformHints, resourceHints, unknownPermission } from "./hints.js";
import {
  levelPaths,
  maximalLevels,
  organizationReasons,
  platformReasons,
  type Reason,
  resourcePaths,
} from "./reasons.js";
import * as repo from "./repo.js";
import type { ExplainInput } from "./schemas.js";

/**
 * POST /v1/explain. The decision is the engine's, through the same path as
 * /access/v1/evaluation (decisions/service.ts evaluate); the reasons are
 * computed from database rows read in one snapshot (reasons.ts). The two are
 * independent on purpose: when they disagree the answer says so
 * (`consistent: false`), the disagreement is logged and counted
 * (authz_explain_inconsistencies_total), and the engine's decision stands.
 */

export interface Explanation {
  decision: boolean;
  consistent: boolean;
  levels?: JobLevel[];
  reasons: Reason[];
  missing?: Missing[];
}

interface Computed {
  reasons: Reason[];
  missing: Missing[];
  levels?: JobLevel[];
}

const isSysadmin = (deps: Deps, actorId: string) => can(deps, actorId, "can_administer", PLATFORM_OBJECT);

/**
 * Who may ask: the subject itself, platform sysadmins, holders of
 * can_manage_access on the resource (a partner admin only about members of
 * their own organization, as with grants, R-C11), admins of the organization
 * for organization permissions. An unknown park, portfolio or organization is
 * 404 before anything else (as the management routes do); a known one that
 * the actor may not ask about is 403.
 */
async function mayAsk(deps: Deps, actorId: string, q: ExplainInput, r: ResourceFacts | null) {
  if (q.subject.type === "user" && q.subject.id === actorId) return true;
  if (await isSysadmin(deps, actorId)) return true;
  if (r) {
    const object = engineObject(r.type, r.id);
    if (await can(deps, actorId, "manage_own_access", object)) return true;
    if (!(await can(deps, actorId, "manage_delegations", object))) return false;
    const rows = await repo.inSnapshot(deps.sql, (tx) => repo.membershipsOf(tx, [actorId, q.subject.id]));
    const orgOf = (u: string) => rows.find((m) => m.userId === u)?.organizationId;
    return (
      q.subject.type === "user" && orgOf(actorId) !== undefined && orgOf(actorId) === orgOf(q.subject.id)
    );
  }
  if (q.resource.type === "organization") {
    return can(deps, actorId, "role_admin", engineObject("organization", q.resource.id));
  }
  return false;
}

function fromResource(snap: ResourceSnapshot, userId: string, action: string, now: Date): Computed {
  const reasons = resourcePaths(snap, userId, action, now).map((p) => p.reason);
  return {
    reasons,
    missing: reasons.length ? [] : resourceHints(snap, userId, action, now),
    levels: maximalLevels(levelPaths(snap, userId, now)),
  };
}

/** The reasons from the database, in one snapshot. */
async function compute(deps: Deps, q: ExplainInput, r: ResourceFacts | null, now: Date): Promise<Computed> {
  const { subject, action, resource } = q;
  if (subject.type !== "user") {
    const message = `subjects of type ${subject.type} hold no permissions in this model: always a deny`;
    return { reasons: [], missing: [{ kind: "unknown-subject-type", type: subject.type, message }] };
  }
  return repo.inSnapshot(deps.sql, async (tx) => {
    if (r) {
      const fresh = await repo.findResource(tx, r.type, r.id);
      if (!fresh) return { reasons: [], missing: [{ kind: "not-found", message: "the resource is gone" }] };
      return fromResource(await repo.resourceSnapshot(tx, fresh, subject.id), subject.id, action.name, now);
    }
    if (resource.type === "organization") {
      const [m] = await repo.membershipsOf(tx, [subject.id]);
      const snap = { organizationId: resource.id, membership: m ?? null };
      const reasons = organizationReasons(snap, action.name);
      return { reasons, missing: reasons.length ? [] : organizationHints(snap, action.name) };
    }
    if (resource.type === "platform") {
      const snap = { staffRole: await repo.staffRole(tx, subject.id) };
      const reasons = platformReasons(snap, action.name);
      return { reasons, missing: reasons.length ? [] : platformHints(snap, action.name) };
    }
    return { reasons: [], missing: [unknownPermission(resource.type, action.name)] };
  });
}

async function locate(deps: Deps, q: ExplainInput): Promise<ResourceFacts | null> {
  const { type, id } = q.resource;
  if (type === "park" || type === "portfolio") {
    const r = await repo.inSnapshot(deps.sql, (tx) => repo.findResource(tx, type, id));
    if (!r) throw NotFound(`${type}-not-found`, `no ${type} ${id}`);
    return r;
  }
  if (type === "organization") {
    const exists = await repo.inSnapshot(deps.sql, (tx) => repo.organizationExists(tx, id));
    if (!exists) throw NotFound("organization-not-found", `no organization ${id}`);
  }
  if (type === "platform" && id !== "default") throw NotFound("platform-not-found", `no platform ${id}`);
  return null;
}

export async function explain(deps: Deps, ctx: ActorContext, q: ExplainInput): Promise<Explanation> {
  const r = await locate(deps, q);
  if (!(await mayAsk(deps, ctx.actorId, q, r))) {
    throw Forbidden("forbidden", "the actor may not ask for this explanation");
  }
  const now = deps.now();
  const [decision, computed] = await Promise.all([
    evaluate(deps, { subject: q.subject, action: q.action, resource: q.resource }),
    compute(deps, q, r, now),
  ]);
  const consistent = decision === computed.reasons.length > 0;
  if (!consistent) {
    reportInconsistency(deps, ctx, "explain", {
      subject: q.subject.id,
      action: q.action.name,
      resource: `${q.resource.type}:${q.resource.id}`,
      engine: decision,
      database: !decision,
    });
  }
  const out: Explanation = {
    decision,
    consistent,
    ...(computed.levels ? { levels: computed.levels } : {}),
    reasons: computed.reasons,
  };
  if (!decision) {
    out.missing = consistent
      ? computed.missing
      : [
          {
            kind: "engine-disagrees",
            message:
              "the database grants this through the reasons listed, but the engine denies it; the engine's " +
              "decision stands until the drift is repaired (R-G3, npm run reconcile)",
          },
        ];
  }
  return out;
}

/** Log and count a disagreement between the engine and the database. */
export function reportInconsistency(
  deps: Deps,
  ctx: ActorContext,
  endpoint: string,
  fields: Record<string, unknown>,
): void {
  metrics().explainInconsistencies.inc({ endpoint });
  deps.log.warn(
    { endpoint, requestId: ctx.requestId, actor: ctx.actorId, ...fields },
    "engine and database disagree; the engine's decision stands",
  );
}
