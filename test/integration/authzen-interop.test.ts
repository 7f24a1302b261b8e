import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTuplesFile } from "../../src/server.js";
import { createTestContext, type TestContext } from "../support/app.js";

/**
 * The official OpenID AuthZEN interop test vectors (test/fixtures/interop/SOURCE.md),
 * every one through the HTTP API of the any-model mode, compared the way the
 * official harnesses compare: `evaluation` by `decision`, `evaluations` by the
 * whole `evaluations` array as exact JSON, searches by `results` as sets.
 * Stricter than the harnesses in one way: every answer must be a 200 (a
 * harness reads a missing `decision` as false, so an error would pass as a deny).
 */

const DIR = "test/fixtures/interop";
type Vector<E> = { request: Record<string, any>; expected: E };
const vectors = <E>(file: string, key: "evaluation" | "evaluations"): Vector<E>[] =>
  JSON.parse(readFileSync(`${DIR}/${file}`, "utf8"))[key] ?? [];

/** The vector's request, as a test name: a failure says which one. */
const named = (v: Vector<unknown>) => JSON.stringify(v.request);

/** The search harness's comparison: results sorted by type and id (or name), then exact JSON. */
function sortedResults(results: Record<string, string>[]): string {
  const sorted = [...results].sort((a, b) =>
    a.type !== undefined
      ? a.type.localeCompare(b.type!) || a.id!.localeCompare(b.id!)
      : a.name!.localeCompare(b.name!),
  );
  return JSON.stringify(sorted, (_, value) => (value === null ? undefined : value));
}

function scenario(
  name: string,
  files: { model: string; tuples: string; config?: Record<string, string> },
  body: (post: (path: string, req: unknown) => Promise<{ status: number; body: any }>) => void,
) {
  describe(name, () => {
    let t: TestContext;
    beforeAll(async () => {
      t = await createTestContext({
        modelFile: `${DIR}/${files.model}`,
        config: { OPENFGA_SEARCH_TIMEOUT_MS: "20000", ...files.config },
      });
      await t.engine.write({ writes: await loadTuplesFile(`${DIR}/${files.tuples}`), deletes: [] });
    });
    afterAll(async () => {
      await t?.close();
    });
    body((path, req) => t.json("POST", `/access/v1/${path}`, { body: req, key: "decide" }));
  });
}

function decisions(
  post: (path: string, req: unknown) => Promise<{ status: number; body: any }>,
  file: string,
) {
  describe(`${file} evaluation`, () => {
    for (const v of vectors<boolean>(file, "evaluation")) {
      it(named(v), async () => {
        const res = await post("evaluation", v.request);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.decision).toBe(v.expected);
      });
    }
  });
  const batches = vectors<unknown[]>(file, "evaluations");
  if (batches.length === 0) return;
  describe(`${file} evaluations`, () => {
    for (const v of batches) {
      it(named(v), async () => {
        const res = await post("evaluations", v.request);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(JSON.stringify(res.body.evaluations)).toBe(JSON.stringify(v.expected));
      });
    }
  });
}

scenario(
  "AuthZEN interop: Todo",
  { model: "authzen-todo.fga", tuples: "authzen-todo.tuples.yaml" },
  (post) => {
    for (const file of ["todo-00.json", "todo-01.json", "todo-02.json"]) decisions(post, file);
  },
);

scenario(
  "AuthZEN interop: API gateway",
  { model: "authzen-gateway.fga", tuples: "authzen-gateway.tuples.yaml" },
  (post) => decisions(post, "gateway.json"),
);

scenario(
  "AuthZEN interop: search",
  {
    model: "authzen-search.fga",
    tuples: "authzen-search.tuples.yaml",
    // Only these relations are actions: owner, department and the role links are not.
    config: { ACTION_RELATIONS: "record:view|edit|delete" },
  },
  (post) => {
    for (const kind of ["subject", "resource", "action"]) {
      describe(`search-${kind}.json`, () => {
        for (const v of vectors<{ results: Record<string, string>[] }>(`search-${kind}.json`, "evaluation")) {
          it(named(v), async () => {
            const res = await post(`search/${kind}`, v.request);
            expect(res.status, JSON.stringify(res.body)).toBe(200);
            expect(res.body.page.next_token).toBe("");
            expect(sortedResults(res.body.results)).toBe(sortedResults(v.expected.results));
          });
        }
      });
    }
  },
);
