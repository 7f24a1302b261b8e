import { z } from "@hono/zod-openapi";

/**
 * AuthZEN Authorization API 1.0 shapes (API.md "Decisions"). Only the
 * request *shape* is checked here (a missing or wrongly typed field is 400);
 * whether ids, types and action names make sense is decided in the service,
 * where anything unknown is a deny, never an error.
 */

const Properties = z.record(z.string(), z.unknown()).optional();

export const SubjectSchema = z
  .object({ type: z.string(), id: z.string(), properties: Properties })
  .openapi("Subject", { example: { type: "user", id: "alice" } });
export const ActionSchema = z
  .object({ name: z.string(), properties: Properties })
  .openapi("Action", { example: { name: "can_view" } });
export const ResourceSchema = z
  .object({ type: z.string(), id: z.string(), properties: Properties })
  .openapi("Resource", { example: { type: "park", id: "park-42" } });
export const ContextSchema = z.record(z.string(), z.unknown()).openapi("Context");

export const EvaluationRequest = z
  .object({
    subject: SubjectSchema,
    action: ActionSchema,
    resource: ResourceSchema,
    context: ContextSchema.optional(),
  })
  .openapi("EvaluationRequest");
export type EvaluationInput = z.infer<typeof EvaluationRequest>;

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** `{type, id}` of strings and nothing the schema keeps besides (no properties); else null. */
function plainEntity(x: unknown): { type: string; id: string; properties?: undefined } | null {
  if (!isObject(x) || typeof x.type !== "string" || typeof x.id !== "string" || x.properties !== undefined)
    return null;
  // zod keeps an optional key that is present as undefined (only in-process values have one).
  return "properties" in x ? { type: x.type, id: x.id, properties: undefined } : { type: x.type, id: x.id };
}

/**
 * EvaluationRequest.safeParse, with the common shape decided without zod:
 * entities of two strings, an action name, no properties and no context (the
 * shape of nearly every decision, checked per item of a batch). Such a value
 * gets exactly the data zod would give (unknown keys dropped); anything else,
 * valid or not, is zod's to judge (test/unit/decision-schemas.test.ts).
 */
export function parseEvaluation(
  x: unknown,
): { success: true; data: EvaluationInput } | ReturnType<typeof EvaluationRequest.safeParse> {
  if (isObject(x) && x.context === undefined && isObject(x.action)) {
    const subject = plainEntity(x.subject);
    const resource = plainEntity(x.resource);
    const { name, properties } = x.action;
    if (subject && resource && typeof name === "string" && properties === undefined) {
      const action = "properties" in x.action ? { name, properties: undefined } : { name };
      const data = { subject, action, resource };
      return { success: true, data: "context" in x ? { ...data, context: undefined } : data };
    }
  }
  return EvaluationRequest.safeParse(x);
}

export const DecisionSchema = z
  .object({
    decision: z.boolean(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Decision");

export const SEMANTICS = ["execute_all", "deny_on_first_deny", "permit_on_first_permit"] as const;
export type Semantic = (typeof SEMANTICS)[number];

export const EvaluationsRequest = z
  .object({
    subject: SubjectSchema.optional(),
    action: ActionSchema.optional(),
    resource: ResourceSchema.optional(),
    context: ContextSchema.optional(),
    options: z
      .object({ evaluations_semantic: z.enum(SEMANTICS).optional() })
      .catchall(z.unknown())
      .optional(),
    // Items are checked one by one after merging with the defaults, so that a
    // bad item answers its own error instead of failing the whole batch.
    evaluations: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .openapi("EvaluationsRequest");
export type EvaluationsInput = z.infer<typeof EvaluationsRequest>;

export const EvaluationsResponse = z
  .object({ evaluations: z.array(DecisionSchema) })
  .openapi("EvaluationsResponse");

const PageRequest = z
  .object({
    token: z.string().max(1024).optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  })
  .optional();

const PageResponse = z.object({
  next_token: z.string(),
  count: z.number().int(),
  total: z.number().int(),
});

const TypedRef = z.object({ type: z.string(), properties: Properties });

/** A subject or resource search: the searched side is a type (its id, if sent, is ignored). */
const searchRequest = <S extends z.ZodType, R extends z.ZodType>(subject: S, resource: R) =>
  z.object({ subject, action: ActionSchema, resource, context: ContextSchema.optional(), page: PageRequest });
const Searched = TypedRef.extend({ id: z.string().optional() });

export const SearchResourceRequest = searchRequest(SubjectSchema, Searched).openapi("ResourceSearchRequest");
export type SearchResourceInput = z.infer<typeof SearchResourceRequest>;

export const SearchSubjectRequest = searchRequest(Searched, ResourceSchema).openapi("SubjectSearchRequest");
export type SearchSubjectInput = z.infer<typeof SearchSubjectRequest>;

export const SearchActionRequest = z
  .object({
    subject: SubjectSchema,
    resource: ResourceSchema,
    context: ContextSchema.optional(),
    page: PageRequest,
  })
  .openapi("ActionSearchRequest");
export type SearchActionInput = z.infer<typeof SearchActionRequest>;

const Ref = z.object({ type: z.string(), id: z.string() });

export const EntitySearchResponse = z
  .object({ results: z.array(Ref), page: PageResponse })
  .openapi("EntitySearchResponse");
export const ActionSearchResponse = z
  .object({ results: z.array(z.object({ name: z.string() })), page: PageResponse })
  .openapi("ActionSearchResponse");

export const MetadataResponse = z
  .object({
    policy_decision_point: z.string(),
    access_evaluation_endpoint: z.string(),
    access_evaluations_endpoint: z.string(),
    search_subject_endpoint: z.string(),
    search_resource_endpoint: z.string(),
    search_action_endpoint: z.string(),
  })
  .openapi("PdpMetadata");
