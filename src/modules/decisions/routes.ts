import { createRoute, type z } from "@hono/zod-openapi";
import { commonErrors, createRouter, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { answerEvaluation, logDecision, observe, type Result } from "./answer.js";
import {
  ActionSearchResponse,
  DecisionSchema,
  EntitySearchResponse,
  EvaluationRequest,
  EvaluationsRequest,
  EvaluationsResponse,
  MetadataResponse,
  SearchActionRequest,
  SearchResourceRequest,
  SearchSubjectRequest,
} from "./schemas.js";
import { searchActions, searchResources, searchSubjects } from "./search.js";
import { evaluateMany } from "./service.js";

function post<Req extends z.ZodType, Res extends z.ZodType>(
  path: string,
  summary: string,
  body: Req,
  response: Res,
  extra = {},
) {
  return createRoute({
    method: "post",
    path,
    tags: ["Decisions (AuthZEN 1.0)"],
    summary,
    request: { body: { required: true, content: { "application/json": { schema: body } } } },
    responses: {
      200: { description: "the answer", content: { "application/json": { schema: response } } },
      ...commonErrors,
      415: problem("the body is not application/json"),
      ...extra,
    },
  });
}

const evaluationRoute = post("/access/v1/evaluation", "One decision", EvaluationRequest, DecisionSchema);
const evaluationsRoute = post(
  "/access/v1/evaluations",
  "Many decisions (execute_all, deny_on_first_deny, permit_on_first_permit)",
  EvaluationsRequest,
  EvaluationsResponse.or(DecisionSchema),
);
const searchSubjectRoute = post(
  "/access/v1/search/subject",
  "Subjects of a type that may do an action on a resource (ListUsers)",
  SearchSubjectRequest,
  EntitySearchResponse,
);
const searchResourceRoute = post(
  "/access/v1/search/resource",
  "Resources of a type on which a subject may do an action (every result decided by the engine)",
  SearchResourceRequest,
  EntitySearchResponse,
);
const searchActionRoute = post(
  "/access/v1/search/action",
  "The permissions a subject holds on a resource (SPEC §2 names; with MODEL_FILE, the ACTION_RELATIONS of the type)",
  SearchActionRequest,
  ActionSearchResponse,
);
const metadataRoute = createRoute({
  method: "get",
  path: "/.well-known/authzen-configuration",
  tags: ["Decisions (AuthZEN 1.0)"],
  summary: "PDP metadata (no authentication)",
  security: [],
  responses: {
    200: { description: "PDP metadata", content: { "application/json": { schema: MetadataResponse } } },
  },
});

const outcome = (d: { decision: boolean; context?: unknown }): Result =>
  d.context ? "error" : d.decision ? "allow" : "deny";

/** AuthZEN Authorization API 1.0 (API.md "Decisions"); the `decide` scope is checked in app.ts. */
export function decisionsRoutes(deps: Deps) {
  const app = createRouter();

  app.openapi(evaluationRoute, async (c) => {
    const decision = await answerEvaluation(deps, c.req.valid("json"), c.get("log"));
    return c.json({ decision }, 200);
  });

  app.openapi(evaluationsRoute, async (c) => {
    const body = c.req.valid("json");
    const r = await observe(
      "evaluations",
      () => evaluateMany(deps, body),
      (r) => ("single" in r ? [r.single ? "allow" : "deny"] : r.evaluations.map(outcome)),
    );
    if ("single" in r) {
      logDecision(c.get("log"), { endpoint: "evaluations", decision: r.single });
      return c.json({ decision: r.single }, 200);
    }
    // The per-item debug lines (built only when debug is on: a batch has up to hundreds of items).
    if (deps.log.isLevelEnabled("debug"))
      r.evaluations.forEach((d, index) => {
        const check = r.checks[index];
        logDecision(c.get("log"), {
          endpoint: "evaluations",
          index,
          ...check,
          decision: d.decision,
          error: outcome(d) === "error",
        });
      });
    return c.json({ evaluations: r.evaluations }, 200);
  });

  app.openapi(searchSubjectRoute, async (c) => {
    const q = c.req.valid("json");
    const page = await observe(
      "search_subject",
      () => searchSubjects(deps, q),
      () => ["ok"],
    );
    logDecision(c.get("log"), {
      endpoint: "search_subject",
      resource: `${q.resource.type}:${q.resource.id}`,
      count: page.page.count,
    });
    return c.json(page, 200);
  });

  app.openapi(searchResourceRoute, async (c) => {
    const q = c.req.valid("json");
    const page = await observe(
      "search_resource",
      () => searchResources(deps, q),
      () => ["ok"],
    );
    logDecision(c.get("log"), {
      endpoint: "search_resource",
      subject: `${q.subject.type}:${q.subject.id}`,
      count: page.page.count,
    });
    return c.json(page, 200);
  });

  app.openapi(searchActionRoute, async (c) => {
    const q = c.req.valid("json");
    const page = await observe(
      "search_action",
      () => searchActions(deps, q),
      () => ["ok"],
    );
    logDecision(c.get("log"), {
      endpoint: "search_action",
      subject: `${q.subject.type}:${q.subject.id}`,
      resource: `${q.resource.type}:${q.resource.id}`,
      actions: page.results.map((a) => a.name),
    });
    return c.json(page, 200);
  });

  app.openapi(metadataRoute, (c) => {
    const base = (deps.config.PUBLIC_BASE_URL ?? new URL(c.req.url).origin).replace(/\/+$/, "");
    return c.json(
      {
        policy_decision_point: base,
        access_evaluation_endpoint: `${base}/access/v1/evaluation`,
        access_evaluations_endpoint: `${base}/access/v1/evaluations`,
        search_subject_endpoint: `${base}/access/v1/search/subject`,
        search_resource_endpoint: `${base}/access/v1/search/resource`,
        search_action_endpoint: `${base}/access/v1/search/action`,
      },
      200,
    );
  });

  return app;
}
