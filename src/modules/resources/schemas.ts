import { z } from "@hono/zod-openapi";
import { JOB_LEVELS } from "../../engine/permissions.js";

export type { ResourceType } from "../../engine/permissions.js";

import { IdSchema, PageQuerySchema, ServerIdSchema, textSchema } from "../../http/openapi.js";

/** Request and response shapes of the resources module (API.md "Resources and grants"). */

const Name = textSchema(200);

export const PortfolioBody = z
  .object({ organizationId: ServerIdSchema, name: Name })
  .openapi("PortfolioInput");
export const ParkBody = z.object({ portfolioId: IdSchema, name: Name }).openapi("ParkInput");
export const GrantBody = z.object({ level: z.enum(JOB_LEVELS) }).openapi("GrantInput");

export const PortfolioParams = z.object({ portfolioId: IdSchema });
export const ParkParams = z.object({ parkId: IdSchema });
export const ResourceParams = z.object({ id: IdSchema });
export const GrantParams = z.object({ id: IdSchema, userId: IdSchema });
export const GrantsQuery = PageQuerySchema;

export const PortfolioSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Portfolio");

export const ParkSchema = PortfolioSchema.extend({ portfolioId: z.string() }).openapi("Park");

export const GrantSchema = z
  .object({
    userId: z.string(),
    level: z.enum(JOB_LEVELS),
    effectiveLevel: z.enum(JOB_LEVELS).nullable(),
    organizationId: z.string(),
    cooperationId: z.string().nullable(),
  })
  .openapi("Grant");

export const GrantListSchema = z
  .object({ items: z.array(GrantSchema), nextCursor: z.string().nullable() })
  .openapi("GrantList");
