import { z } from "@hono/zod-openapi";
import { JOB_LEVELS, ORG_ROLES, RESOURCE_TYPES, STAFF_ROLES } from "../../engine/permissions.js";

export type { ResourceType } from "../../engine/permissions.js";

import { IdSchema, PageQuerySchema, ServerIdSchema } from "../../http/openapi.js";

/** Request and response shapes of the explain module (API.md "Explanations and access review"). */

const Properties = z.record(z.string(), z.unknown()).optional();
const Name = z.string().min(1).max(128);

/**
 * The AuthZEN evaluation shapes, with ids held to the API charset: an
 * explanation is about users and platform objects, so a malformed id is a
 * 400 here (the decision endpoint answers it with a deny).
 */
export const ExplainBody = z
  .object({
    subject: z.object({ type: Name, id: IdSchema, properties: Properties }),
    action: z.object({ name: Name, properties: Properties }),
    resource: z.object({ type: Name, id: IdSchema, properties: Properties }),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("ExplainRequest", {
    example: {
      subject: { type: "user", id: "alice" },
      action: { name: "can_view" },
      resource: { type: "park", id: "park-42" },
    },
  });
export type ExplainInput = z.infer<typeof ExplainBody>;

const Level = z.enum(JOB_LEVELS);
const Ref = z.object({ type: z.enum(RESOURCE_TYPES), id: z.string() });
const message = z.string().openapi({ description: "a human sentence; clients match on kind and fields" });

export const ReasonSchema = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("role-baseline"),
      role: z.enum(ORG_ROLES),
      organizationId: z.string(),
      level: Level,
      message,
    }),
    z.object({ kind: z.literal("grant"), on: Ref, level: Level, effectiveLevel: Level, message }),
    z.object({
      kind: z.literal("share"),
      cooperationId: z.string(),
      ownerOrganizationId: z.string(),
      partnerOrganizationId: z.string(),
      on: Ref,
      level: Level,
      expiresAt: z.string().nullable(),
      message,
    }),
    z.object({
      kind: z.literal("delegation"),
      cooperationId: z.string(),
      ownerOrganizationId: z.string(),
      on: Ref,
      level: Level.openapi({ description: "the delegated level" }),
      share: z.object({ on: Ref, level: Level }).openapi({ description: "the share that caps it now" }),
      effectiveLevel: Level,
      message,
    }),
    z.object({
      kind: z.literal("organization-role"),
      role: z.enum(ORG_ROLES),
      organizationId: z.string(),
      message,
    }),
    z.object({ kind: z.literal("staff-role"), role: z.enum(STAFF_ROLES), message }),
  ])
  .openapi("AccessReason");

export const MissingSchema = z
  .object({ kind: z.string(), message: z.string() })
  .catchall(z.unknown())
  .openapi("AccessMissing", {
    description:
      "What is closest to an allow. kind: not-a-member, no-grant, level-too-low, external-limited (R-O4), " +
      "cooperation-inactive (state paused|pending|expired, since), share-too-low, no-delegation, " +
      "delegation-capped (R-C9), role-required, staff-role-required, unknown-permission, unknown-subject-type, " +
      "engine-disagrees",
  });

export const ExplainSchema = z
  .object({
    decision: z.boolean().openapi({ description: "the engine's answer, as /access/v1/evaluation gives it" }),
    consistent: z.boolean().openapi({
      description: "false when the database rows (the reasons) and the engine disagree; the decision stands",
    }),
    levels: z.array(Level).optional().openapi({ description: "park or portfolio: the maximal levels held" }),
    reasons: z.array(ReasonSchema),
    missing: z.array(MissingSchema).optional(),
  })
  .openapi("Explanation");

export const AccessParams = z.object({ id: IdSchema.openapi({ param: { name: "id", in: "path" } }) });
export const AccessQuery = PageQuerySchema;

export const AccessItemSchema = z
  .object({
    userId: z.string(),
    organizationId: z.string(),
    cooperationId: z.string().nullable().openapi({ description: "null for the owner organization" }),
    levels: z.array(Level),
    reasons: z.array(ReasonSchema),
    consistent: z.boolean(),
  })
  .openapi("AccessEntry");

export const AccessPageSchema = z
  .object({ items: z.array(AccessItemSchema), nextCursor: z.string().nullable() })
  .openapi("AccessPage");

export const OrgParams = z.object({
  orgId: ServerIdSchema.openapi({ param: { name: "orgId", in: "path" }, example: "org_9c1e…" }),
});

const DelegationSchema = z.object({
  userId: z.string(),
  resource: Ref,
  level: Level,
  effectiveLevel: Level.nullable(),
});

export const SharedWithUsSchema = z
  .object({
    items: z.array(
      z.object({
        cooperationId: z.string(),
        ownerOrganizationId: z.string(),
        expiresAt: z.string().nullable(),
        shares: z.array(z.object({ resource: Ref, level: Level, delegations: z.array(DelegationSchema) })),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi("SharedWithUs");
