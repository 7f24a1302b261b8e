import { afterAll, beforeAll } from "vitest";
import type { OrgRole } from "../../src/engine/permissions.js";
import type { ShareInput } from "../../src/modules/cooperations/index.js";
import { bootstrapSysadmins } from "../../src/modules/platform/service.js";
import { createTestContext, type TestAppOptions, type TestContext } from "./app.js";
import { activeCooperation as active } from "./coop-factories.js";
import { addMemberTo, createOrg, userId } from "./factories.js";

export { type GrantInput, grants, parks } from "./factories.js";

/**
 * A test context with a generous engine timeout: the test machine is shared
 * and a loaded OpenFGA may take longer than the production check bound (a
 * timeout is a 503, which is what the fault tests assert on purpose).
 */
export function context(opts: TestAppOptions = {}): Promise<TestContext> {
  return createTestContext({ ...opts, config: { OPENFGA_TIMEOUT_MS: "10000", ...opts.config } });
}

/** An organization with one member of every role (the admin comes from createOrg). */
export async function orgWithRoles(t: TestContext) {
  const org = await createOrg(t);
  const ids = {} as Record<OrgRole, string>;
  ids.admin = org.admin;
  for (const role of [
    "moderator",
    "asset_manager_technical",
    "asset_manager_commercial",
    "member",
    "external",
  ] as const) {
    ids[role] = await addMemberTo(t, org.id, role);
  }
  return { ...org, ids };
}

/**
 * One test context for the enclosing file or describe block: made before its
 * tests (then handed to `use`, which keeps it and builds what they share),
 * closed after them.
 */
export function contextHooks(use: (t: TestContext) => unknown, opts: TestAppOptions = {}): void {
  let made: TestContext | undefined;
  beforeAll(async () => {
    made = await context(opts);
    await use(made);
  });
  afterAll(async () => {
    await made?.close();
  });
}

/** A sysadmin, as BOOTSTRAP_SYSADMINS would create it. */
export async function sysadmin(t: TestContext, id = userId("sys")): Promise<string> {
  await bootstrapSysadmins(t.deps, [id]);
  return id;
}

/** Whether the engine allows `user` the relation on the object. */
export function allows(t: TestContext, user: string, relation: string, object: string): Promise<boolean> {
  return t.engine.check({ user: `user:${user}`, relation, object });
}

/** All engine tuples of one user (any relation, any object). */
export async function tuplesOf(t: TestContext, user: string) {
  const out = [];
  for await (const tu of t.engine.readAll()) if (tu.user === `user:${user}`) out.push(tu);
  return out;
}

export async function auditCount(t: TestContext): Promise<number> {
  const [r] = await t.sql`select count(*)::int as n from audit_events`;
  return r!.n as number;
}

export async function membershipOf(t: TestContext, user: string) {
  const [r] = await t.sql`select organization_id, role from memberships where user_id = ${user}`;
  return r ? { organizationId: r.organization_id as string, role: r.role as OrgRole } : null;
}

/** An active cooperation owner → partner sharing the given resources (coop-factories.ts). */
export async function activeCooperation(
  t: TestContext,
  ownerOrganizationId: string,
  partnerOrganizationId: string,
  shares: ShareInput[],
) {
  return active(t, { owner: ownerOrganizationId, partner: partnerOrganizationId, shares });
}
