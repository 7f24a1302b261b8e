import { z } from "@hono/zod-openapi";
import { PageQuerySchema } from "../../http/openapi.js";

export { OrgParams } from "../organizations/index.js";

export const AuditQuery = PageQuerySchema;

export const AuditEventSchema = z
  .object({
    id: z.string(),
    at: z.string(),
    actorId: z.string().nullable(),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string() }),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string().nullable(),
  })
  .openapi("AuditEvent");

export const AuditPage = z
  .object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() })
  .openapi("AuditEventsPage");
