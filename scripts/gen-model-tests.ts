/**
 * Generates model/generated/matrix.fga.yaml: the complete SPEC §2 permission
 * matrix as `fga model test` cases, derived from the data tables in
 * src/engine/permissions.ts (never written by hand).
 *
 *   npx tsx scripts/gen-model-tests.ts          # (re)write the file
 *   npx tsx scripts/gen-model-tests.ts --check  # exit 1 if the file is stale
 *
 * The output is deterministic: it depends only on the tables, so the unit test
 * test/unit/model-surface.test.ts can compare it with the committed file.
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Document, isScalar, Scalar, visit } from "yaml";
import { grantTuples, membershipTuples } from "../src/kernel/tuples.js";
import {
  JOB_LEVELS,
  type JobLevel,
  LEVEL_PERMISSIONS,
  ORG_PERMISSIONS,
  ORG_ROLES,
  type OrgRole,
  PLATFORM_PERMISSIONS,
  RESOURCE_ADMIN_PERMISSIONS,
  RESOURCE_TYPES,
  ROLE_BASELINE,
  STAFF_ROLES,
} from "../src/engine/permissions.js";

/** Path of the generated file, relative to the repository root. */
export const MATRIX_PATH = "model/generated/matrix.fga.yaml";

/** A fixed instant: conditioned tuples need `current_time` in every request. */
export const CURRENT_TIME = "2030-01-01T00:00:00Z";

type ResourceAdminPermission = (typeof RESOURCE_ADMIN_PERMISSIONS)[number];

/**
 * SPEC §2 "Resource permissions that do not come from a job level", for
 * members of the owner organization (partners are covered in model/rules.fga.yaml).
 */
export const RESOURCE_ADMIN_ROLES: Readonly<Record<ResourceAdminPermission, readonly OrgRole[]>> = {
  can_manage_access: ["admin", "moderator"],
  can_share: ["admin"],
  can_view_audit_log: ["admin"],
};

interface Tuple {
  user: string;
  relation: string;
  object: string;
}

interface Check {
  user: string;
  object: string;
  context: { current_time: string };
  assertions: Record<string, boolean>;
}

interface TestCase {
  name: string;
  description: string;
  tuples: Tuple[];
  check: Check[];
}

const ORG = "organization:acme";
const OTHER_ORG = "organization:globex";
const PORTFOLIO = "portfolio:solar";
const PARK = "park:sun1";
/** A second park of the same portfolio: portfolio access reaches every park (R-H1). */
const SIBLING_PARK = "park:sun2";
/** A resource of another organization: nothing in this file reaches it. */
const FOREIGN_PORTFOLIO = "portfolio:far";
const FOREIGN_PARK = "park:far1";
const USER = "user:alice";

/** USER's membership in ORG as the service writes it (the role and its organization sets). */
function memberOf(role: OrgRole): Tuple[] {
  return membershipTuples({
    userId: USER.slice("user:".length),
    organizationId: ORG.slice("organization:".length),
    role,
  });
}
const NOBODY = "user:nobody";

const OWNERSHIP: readonly Tuple[] = [
  { user: ORG, relation: "owner", object: PORTFOLIO },
  { user: ORG, relation: "owner", object: PARK },
  { user: PORTFOLIO, relation: "portfolio", object: PARK },
  { user: ORG, relation: "owner", object: SIBLING_PARK },
  { user: PORTFOLIO, relation: "portfolio", object: SIBLING_PARK },
  { user: OTHER_ORG, relation: "owner", object: FOREIGN_PORTFOLIO },
  { user: OTHER_ORG, relation: "owner", object: FOREIGN_PARK },
  { user: FOREIGN_PORTFOLIO, relation: "portfolio", object: FOREIGN_PARK },
];

const context = () => ({ current_time: CURRENT_TIME });

function check(user: string, object: string, assertions: Record<string, boolean>): Check {
  return { user, object, context: context(), assertions };
}

/** Level-derived permissions (SPEC §2 first table) for a set of held levels: the union (R-O2). */
function levelAssertions(held: ReadonlySet<JobLevel>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [permission, levels] of Object.entries(LEVEL_PERMISSIONS)) {
    out[permission] = levels.some((level) => held.has(level));
  }
  return out;
}

/** Level permissions plus the resource-admin permissions of an owner-organization role. */
function resourceAssertions(held: ReadonlySet<JobLevel>, role: OrgRole | null): Record<string, boolean> {
  const out = levelAssertions(held);
  for (const permission of RESOURCE_ADMIN_PERMISSIONS) {
    out[permission] = role !== null && RESOURCE_ADMIN_ROLES[permission].includes(role);
  }
  return out;
}

function allFalse(permissions: Iterable<string>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const permission of permissions) out[permission] = false;
  return out;
}

const RESOURCE_PERMISSIONS = [...Object.keys(LEVEL_PERMISSIONS), ...RESOURCE_ADMIN_PERMISSIONS];

function orgAssertions(role: OrgRole | null): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [permission, roles] of Object.entries(ORG_PERMISSIONS)) {
    out[permission] = role !== null && roles.includes(role);
  }
  return out;
}

function baselineOf(role: OrgRole): Set<JobLevel> {
  const level = ROLE_BASELINE[role];
  return new Set(level === null ? [] : [level]);
}

/** Checks that nothing leaks to another organization or its resources. */
function foreignChecks(user: string): Check[] {
  return [
    check(user, OTHER_ORG, orgAssertions(null)),
    check(user, FOREIGN_PORTFOLIO, allFalse(RESOURCE_PERMISSIONS)),
    check(user, FOREIGN_PARK, allFalse(RESOURCE_PERMISSIONS)),
  ];
}

/** R-O1: every organization role, its organization permissions and its baseline on owned resources. */
function roleTests(): TestCase[] {
  return ORG_ROLES.map((role) => {
    const held = baselineOf(role);
    const baseline = ROLE_BASELINE[role] ?? "none";
    return {
      name: `R-O1 ${role} baseline and organization permissions`,
      description: `role ${role}: organization permissions per SPEC §2; baseline ${baseline} on the owned portfolio and on every park in it (R-H1)`,
      tuples: [...OWNERSHIP, ...memberOf(role)],
      check: [
        check(USER, ORG, orgAssertions(role)),
        check(USER, PORTFOLIO, resourceAssertions(held, role)),
        check(USER, PARK, resourceAssertions(held, role)),
        check(USER, SIBLING_PARK, resourceAssertions(held, role)),
        ...foreignChecks(USER),
      ],
    };
  });
}

/** The level a grant of `level` yields for `role` (R-O4: externals hold at most viewer). */
function grantedLevel(role: OrgRole, level: JobLevel): JobLevel {
  return role === "external" ? "viewer" : level;
}

/**
 * R-O2/R-O4/R-H1: every job level granted directly on a park and on a
 * portfolio, to a member of every role (one test per role, one dedicated
 * portfolio per level and grant kind so that the grants do not interfere):
 * the effective permissions are the union of the baseline and the granted
 * level; a portfolio grant flows to its park; a park grant flows neither up to
 * its portfolio nor sideways to a sibling park.
 */
function grantTests(): TestCase[] {
  return ORG_ROLES.map(grantTest);
}

function grantTest(role: OrgRole): TestCase {
  const baseline = baselineOf(role);
  const tuples: Tuple[] = [...memberOf(role)];
  const checks: Check[] = [];
  for (const type of RESOURCE_TYPES) {
    for (const level of JOB_LEVELS) {
      const withGrant = new Set([...baseline, grantedLevel(role, level)]);
      const portfolio = `portfolio:${type}_grant_${level}`;
      const park = `park:${type}_grant_${level}_1`;
      const sibling = `park:${type}_grant_${level}_2`;
      tuples.push(
        { user: ORG, relation: "owner", object: portfolio },
        { user: ORG, relation: "owner", object: park },
        { user: portfolio, relation: "portfolio", object: park },
        { user: ORG, relation: "owner", object: sibling },
        { user: portfolio, relation: "portfolio", object: sibling },
        // The grant as the service writes it: one tuple per implied level.
        ...grantTuples({
          resourceType: type,
          resourceId: (type === "park" ? park : portfolio).split(":")[1]!,
          userId: USER.slice("user:".length),
          level,
          cooperationId: null,
        }),
      );
      if (type === "portfolio") {
        checks.push(
          check(USER, portfolio, resourceAssertions(withGrant, role)),
          check(USER, park, resourceAssertions(withGrant, role)),
        );
      } else {
        checks.push(
          check(USER, park, resourceAssertions(withGrant, role)),
          check(USER, portfolio, resourceAssertions(baseline, role)),
          check(USER, sibling, resourceAssertions(baseline, role)),
        );
      }
    }
  }
  const ids = role === "external" ? "R-O2 R-O4 R-H1" : "R-O2 R-H1";
  return {
    name: `${ids} ${role} with every level granted on a park and on a portfolio`,
    description: `a ${role} granted each job level on its own park and its own portfolio: union of the baseline (${
      ROLE_BASELINE[role] ?? "none"
    }) and the granted level${role === "external" ? " capped at viewer (R-O4)" : ""}`,
    tuples,
    check: checks,
  };
}

/** Platform staff roles (SPEC §2, platform permissions). */
function staffTests(): TestCase[] {
  return STAFF_ROLES.map((role) => {
    const assertions: Record<string, boolean> = {};
    for (const [permission, roles] of Object.entries(PLATFORM_PERMISSIONS)) {
      assertions[permission] = roles.includes(role);
    }
    return {
      name: `§2 platform staff ${role}`,
      description: `platform staff role ${role}: platform permissions per SPEC §2 and no organization or resource access`,
      tuples: [...OWNERSHIP, { user: USER, relation: `staff_${role}`, object: "platform:default" }],
      check: [
        check(USER, "platform:default", assertions),
        check(USER, ORG, orgAssertions(null)),
        check(USER, PORTFOLIO, allFalse(RESOURCE_PERMISSIONS)),
        check(USER, PARK, allFalse(RESOURCE_PERMISSIONS)),
      ],
    };
  });
}

/** A user with no relation at all gets nothing anywhere, even where others have access. */
function nobodyTest(): TestCase {
  return {
    name: "R-O1 R-O3 user with no relation gets nothing",
    description: "a user with no membership, grant or staff role: every public permission is false",
    tuples: [
      ...OWNERSHIP,
      ...memberOf("admin"),
      { user: USER, relation: "staff_sysadmin", object: "platform:default" },
    ],
    check: [
      check(NOBODY, "platform:default", allFalse(Object.keys(PLATFORM_PERMISSIONS))),
      check(NOBODY, ORG, orgAssertions(null)),
      check(NOBODY, PORTFOLIO, allFalse(RESOURCE_PERMISSIONS)),
      check(NOBODY, PARK, allFalse(RESOURCE_PERMISSIONS)),
      check(NOBODY, SIBLING_PARK, allFalse(RESOURCE_PERMISSIONS)),
      ...foreignChecks(NOBODY),
    ],
  };
}

export function generateMatrixTests(): TestCase[] {
  return [...roleTests(), ...grantTests(), ...staffTests(), nobodyTest()];
}

/** Number of single check assertions in the generated tests. */
export function countMatrixAssertions(tests: readonly TestCase[] = generateMatrixTests()): number {
  return tests.reduce(
    (sum, test) => sum + test.check.reduce((n, c) => n + Object.keys(c.assertions).length, 0),
    0,
  );
}

const HEADER = `# GENERATED by scripts/gen-model-tests.ts from src/engine/permissions.ts. DO NOT EDIT.
# Regenerate with: npx tsx scripts/gen-model-tests.ts
# The complete SPEC §2 matrix (R-O1, R-O2, R-O4, R-H1, platform staff, no relation).
`;

export function generateMatrixYaml(): string {
  const tests = generateMatrixTests();
  const doc = {
    name: "SPEC §2 permission matrix (generated)",
    model_file: "../model.fga",
    tests,
  };
  const yaml = new Document(doc, { aliasDuplicateObjects: false });
  // Quote timestamps so that no YAML reader takes them for a date instead of a string.
  visit(yaml, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(node.value)) {
        node.type = Scalar.QUOTE_DOUBLE;
      }
    },
  });
  return HEADER + yaml.toString({ lineWidth: 0, indent: 2 });
}

function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..");
}

function main(argv: readonly string[]): number {
  const target = resolve(repoRoot(), MATRIX_PATH);
  const yaml = generateMatrixYaml();
  const tests = generateMatrixTests();
  if (argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      // missing file: stale
    }
    if (current !== yaml) {
      console.error(`${MATRIX_PATH} is stale: run npx tsx scripts/gen-model-tests.ts`);
      return 1;
    }
    console.log(`${MATRIX_PATH} is up to date`);
    return 0;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, yaml);
  console.log(
    `wrote ${MATRIX_PATH}: ${tests.length} tests, ${countMatrixAssertions(tests)} check assertions`,
  );
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
