import { z } from "@hono/zod-openapi";
import { ORG_ROLES } from "../../engine/permissions.js";
import { IdSchema, PageQuerySchema, ServerIdSchema, textSchema } from "../../http/openapi.js";

export const OrgParams = z.object({
  orgId: ServerIdSchema.openapi({ param: { name: "orgId", in: "path" }, example: "org_3f2a…" }),
});

export const MemberParams = OrgParams.extend({
  userId: IdSchema.openapi({ param: { name: "userId", in: "path" } }),
});

export const RoleSchema = z.enum(ORG_ROLES);

export const RenameBody = z.object({ name: textSchema(200) }).openapi("RenameOrganization");

export const RoleBody = z.object({ role: RoleSchema }).openapi("MemberRoleInput");

export const MembersQuery = PageQuerySchema;

export const OrganizationSchema = z
  .object({ id: z.string(), name: z.string(), createdAt: z.string() })
  .openapi("Organization");

export const MemberSchema = z
  .object({ userId: z.string(), email: z.string().nullable(), role: RoleSchema, joinedAt: z.string() })
  .openapi("Member");

export const MembersPage = z
  .object({ items: z.array(MemberSchema), nextCursor: z.string().nullable() })
  .openapi("MembersPage");

export const MeSchema = z
  .object({
    user: z.object({ id: z.string(), email: z.string().nullable() }),
    organization: z.object({ id: z.string(), name: z.string() }).nullable(),
    role: RoleSchema.nullable(),
  })
  .openapi("Me");
