/**
 * The public surface of the model (issue #3): every permission the decision
 * API answers for exists in model/model.fga, every `can_` relation of the
 * model is public, and the generated matrix tests are up to date.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transformer } from "@openfga/syntax-transformer";
import { describe, expect, it } from "vitest";
import { generateMatrixYaml, MATRIX_PATH } from "../../scripts/gen-model-tests.js";
import { PUBLIC_PERMISSIONS } from "../../src/engine/permissions.js";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

const model = transformer.transformDSLToJSONObject(readFileSync(root("model/model.fga"), "utf8"));

/** Relations of each type, as parsed from the DSL. */
const relationsByType = new Map<string, Set<string>>(
  model.type_definitions.map((definition) => [
    definition.type,
    new Set(Object.keys(definition.relations ?? {})),
  ]),
);

describe("model surface", () => {
  it("has every type that has public permissions", () => {
    for (const type of Object.keys(PUBLIC_PERMISSIONS)) {
      expect(relationsByType.has(type), `type ${type} is missing from model.fga`).toBe(true);
    }
  });

  it("defines every public permission as a relation on its type", () => {
    const missing: string[] = [];
    for (const [type, permissions] of Object.entries(PUBLIC_PERMISSIONS)) {
      const relations = relationsByType.get(type) ?? new Set<string>();
      for (const permission of permissions) {
        if (!relations.has(permission)) missing.push(`${type}#${permission}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("lists every can_ relation of the model in PUBLIC_PERMISSIONS", () => {
    const unlisted: string[] = [];
    for (const [type, relations] of relationsByType) {
      for (const relation of relations) {
        if (relation.startsWith("can_") && !(PUBLIC_PERMISSIONS[type]?.has(relation) ?? false)) {
          unlisted.push(`${type}#${relation}`);
        }
      }
    }
    expect(unlisted).toEqual([]);
  });

  it("has the not_expired condition used by the partner tuple", () => {
    expect(Object.keys(model.conditions ?? {})).toContain("not_expired");
  });
});

describe("generated model tests", () => {
  it(`${MATRIX_PATH} is what scripts/gen-model-tests.ts generates`, () => {
    const committed = readFileSync(root(MATRIX_PATH), "utf8");
    // On failure: npx tsx scripts/gen-model-tests.ts
    expect(
      generateMatrixYaml() === committed,
      `${MATRIX_PATH} is stale: run npx tsx scripts/gen-model-tests.ts`,
    ).toBe(true);
  });

  it("generates the same output on every run", () => {
    expect(generateMatrixYaml()).toBe(generateMatrixYaml());
  });
});
