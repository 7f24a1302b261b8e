import { z } from "@hono/zod-openapi";
import { STAFF_ROLES } from "../../engine/permissions.js";
import { IdSchema } from "../../http/openapi.js";

export const StaffParams = z.object({ userId: IdSchema.openapi({ param: { name: "userId", in: "path" } }) });

export const StaffBody = z.object({ role: z.enum(STAFF_ROLES) }).openapi("StaffRoleInput");

export const StaffResponse = z
  .object({ userId: z.string(), role: z.enum(STAFF_ROLES) })
  .openapi("StaffMember");
