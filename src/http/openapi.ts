import { OpenAPIHono, z } from "@hono/zod-openapi";
import { API_ID, API_ID_MESSAGE, isDotSegment } from "../kernel/ids.js";
import type { AppEnv } from "./context.js";
import { problemResponse } from "./errors.js";

/**
 * Every router is an OpenAPIHono with this hook, so every zod failure at the
 * edge answers one shape: 400 problem+json with errors [{path, message}].
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = result.error.issues.map((i) => ({
          path: i.path.map(String).join(".") || result.target,
          message: i.message,
        }));
        return problemResponse(c, 400, "invalid-request", `invalid ${result.target}`, { errors });
      }
    },
  });
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string().optional(),
  })
  .openapi("Problem");

/** A problem+json response entry for `responses`. */
export const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** A JSON response entry for `responses`. */
export const jsonResponse = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A required JSON request body; spread into `request`. */
export const jsonBody = <T>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});

/** Error responses every authenticated route can give; spread into `responses`. */
export const commonErrors = {
  400: problem("invalid request"),
  401: problem("missing or wrong API key"),
  403: problem("not allowed"),
  503: problem("engine or database unavailable"),
};

/** The one id schema (src/kernel/ids.ts; API.md conventions). */
export const IdSchema = z
  .string()
  .regex(API_ID, API_ID_MESSAGE)
  .refine((s) => !isDotSegment(s), "`.` and `..` cannot be addressed in a path")
  .openapi({ example: "park-42" });

export const ServerIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, "not a valid id")
  .refine((s) => !isDotSegment(s), "not a valid id");

/**
 * Free text stored in the database (names): PostgreSQL text cannot hold NUL,
 * and jsonb (the audit record) refuses lone UTF-16 surrogates, so both are a
 * field error here instead of a failed insert.
 */
export const textSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine((s) => !LONE_SURROGATE.test(s), "must not contain unpaired UTF-16 surrogates");

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text that PostgreSQL text and jsonb can store: no NUL, no unpaired surrogate. */
export const storableText = (s: string) => !s.includes("\u0000") && !LONE_SURROGATE.test(s);

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});
