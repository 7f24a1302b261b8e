import { z } from "@hono/zod-openapi";
import { JOB_LEVELS, RESOURCE_TYPES } from "../../engine/permissions.js";
import { IdSchema, PageQuerySchema, ServerIdSchema } from "../../http/openapi.js";

export const CoopParams = z.object({
  coopId: ServerIdSchema.openapi({ param: { name: "coopId", in: "path" }, example: "coop_3f2a…" }),
});

export const OrgParams = z.object({
  orgId: ServerIdSchema.openapi({ param: { name: "orgId", in: "path" }, example: "org_9c1e…" }),
});

export const ShareParams = CoopParams.extend({
  type: z.enum(RESOURCE_TYPES).openapi({ param: { name: "type", in: "path" } }),
  id: IdSchema.openapi({ param: { name: "id", in: "path" } }),
});

export const ListQuery = PageQuerySchema.extend({
  direction: z
    .enum(["outgoing", "incoming"])
    .optional()
    .openapi({ description: "outgoing: the organization owns; incoming: it is the partner; absent: both" }),
});

export const ShareBody = z.object({ level: z.enum(JOB_LEVELS) }).openapi("ShareLevel");

export const ExpiryBody = z
  .object({
    expiresAt: z.iso
      .datetime({ offset: true })
      .nullable()
      .openapi({ description: "RFC 3339; null clears the expiry", example: "2027-01-31T00:00:00Z" }),
  })
  .openapi("CooperationExpiry");

export const ShareSchema = z
  .object({
    resource: z.object({ type: z.enum(RESOURCE_TYPES), id: z.string() }),
    level: z.enum(JOB_LEVELS),
  })
  .openapi("Share");

export const CooperationSchema = z
  .object({
    id: z.string(),
    ownerOrganizationId: z.string(),
    partnerOrganizationId: z.string().nullable(),
    state: z.enum(["pending", "active", "paused", "expired", "ended"]).openapi({
      description: "`expired` is computed at read time: active with expiresAt in the past",
    }),
    expiresAt: z.string().nullable(),
    createdAt: z.string(),
    shares: z.array(ShareSchema),
  })
  .openapi("Cooperation");

export const CooperationPageSchema = z
  .object({ items: z.array(CooperationSchema), nextCursor: z.string().nullable() })
  .openapi("CooperationPage");
