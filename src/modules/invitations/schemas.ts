import { z } from "@hono/zod-openapi";
import { JOB_LEVELS, ORG_ROLES, RESOURCE_TYPES } from "../../engine/permissions.js";
import { IdSchema, PageQuerySchema, ServerIdSchema, storableText, textSchema } from "../../http/openapi.js";

const Email = z
  .string()
  .trim()
  .max(320)
  .regex(/^[^\s@]{1,64}@[^\s@]{1,255}$/, "not an email address")
  .refine(storableText, "must not contain NUL characters or unpaired UTF-16 surrogates")
  .transform((e) => e.toLowerCase())
  .openapi({ example: "ada@example.com" });
const Role = z.enum(ORG_ROLES);
const Level = z.enum(JOB_LEVELS);
const ExpiresInDays = z
  .number()
  .int()
  .min(1)
  .max(30)
  .optional()
  .openapi({ description: "1-30; default 7 (configurable)" });
const Name = textSchema(200);

const Share = z.object({
  resource: z.object({ type: z.enum(RESOURCE_TYPES), id: IdSchema }),
  level: Level,
});

export const CreateInvitationSchema = z
  .discriminatedUnion("type", [
    z.object({
      type: z.literal("platform"),
      email: Email,
      organizationName: Name.optional(),
      expiresInDays: ExpiresInDays,
    }),
    z.object({
      type: z.literal("organization"),
      organizationId: ServerIdSchema,
      email: Email,
      role: Role,
      expiresInDays: ExpiresInDays,
    }),
    z.object({
      type: z.literal("cooperation"),
      organizationId: ServerIdSchema,
      partner: z.union([z.object({ organizationId: ServerIdSchema }), z.object({ email: Email })]),
      shares: z.array(Share).max(500),
      expiresAt: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: "the cooperation's expiry" }),
      expiresInDays: ExpiresInDays,
    }),
  ])
  .openapi("CreateInvitation");
export type CreateInvitationInput = z.infer<typeof CreateInvitationSchema>;

export const InvitationSchema = z
  .object({
    id: z.string(),
    type: z.enum(["platform", "organization", "cooperation"]),
    status: z.enum(["pending", "accepted", "declined", "revoked", "expired"]),
    email: z.string().nullable(),
    organizationId: z.string().nullable(),
    organizationName: z.string().nullable(),
    partnerOrganizationId: z.string().nullable(),
    role: z.string().nullable(),
    cooperationId: z.string().nullable(),
    inviterId: z.string(),
    expiresAt: z.string(),
    acceptedBy: z.string().nullable(),
    acceptedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Invitation");

export const InvitationWithTokenSchema = z
  .object({ invitation: InvitationSchema, token: z.string().openapi({ description: "shown only here" }) })
  .openapi("InvitationWithToken");
export const InvitationOnlySchema = z.object({ invitation: InvitationSchema }).openapi("InvitationEnvelope");

const Token = z.string().min(1).max(512);
export const TokenBodySchema = z.object({ token: Token });
export const AcceptBodySchema = z.object({
  token: Token,
  organizationName: Name.optional(),
  portfolioName: Name.optional(),
});
export const AcceptByIdBodySchema = z.object({}).optional();

export const AcceptResultSchema = z
  .object({ invitation: InvitationSchema, organizationId: z.string(), cooperationId: z.string().optional() })
  .openapi("InvitationAccepted");

export const PreviewSchema = z
  .object({
    type: z.enum(["platform", "organization", "cooperation"]),
    organizationName: z.string().nullable(),
    inviterId: z.string(),
    role: z.string().optional(),
    expiresAt: z.string(),
  })
  .openapi("InvitationPreview");

export const ListQuerySchema = PageQuerySchema.extend({
  organizationId: ServerIdSchema.optional(),
  status: z.enum(["pending", "accepted", "declined", "revoked", "expired"]).optional(),
});
export const InvitationPageSchema = z
  .object({ items: z.array(InvitationSchema), nextCursor: z.string().nullable() })
  .openapi("InvitationPage");

export const InvitationIdParam = z.object({
  invitationId: ServerIdSchema.openapi({ param: { name: "invitationId", in: "path" } }),
});

export const EventsSchema = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        createdAt: z.string(),
        deliveredAt: z.string().nullable(),
        attempts: z.number().int(),
        payload: z.unknown(),
      }),
    ),
  })
  .openapi("InvitationEvents");
