import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ActorContext, Deps } from "../../domain/deps.js";
import { actorContext } from "../../http/actor.js";
import type { AppEnv } from "../../http/context.js";
import { commonErrors, createRouter } from "../../http/openapi.js";
import { acceptById, acceptByToken, declineByToken, previewByToken } from "./accept.js";
import { listForSender } from "./query.js";
import {
  AcceptBodySchema,
  AcceptResultSchema,
  CreateInvitationSchema,
  EventsSchema,
  InvitationIdParam,
  InvitationOnlySchema,
  InvitationPageSchema,
  InvitationWithTokenSchema,
  ListQuerySchema,
  PreviewSchema,
  TokenBodySchema,
} from "./schemas.js";
import {
  createInvitation,
  getInvitation,
  invitationEvents,
  resendInvitation,
  revokeInvitation,
} from "./service.js";

const tags = ["Invitations"];
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});
const problem = commonErrors[403];
const responses = { ...commonErrors, 404: problem, 409: problem, 410: problem };
const params = { params: InvitationIdParam };

const r = {
  create: createRoute({
    method: "post",
    path: "/v1/invitations",
    tags,
    summary: "Create an invitation (R-I1)",
    request: body(CreateInvitationSchema),
    responses: {
      ...responses,
      201: json(InvitationWithTokenSchema, "created; the token is shown only here"),
    },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/invitations",
    tags,
    summary: "List invitations (sender side)",
    request: { query: ListQuerySchema },
    responses: { ...responses, 200: json(InvitationPageSchema, "a page") },
  }),
  accept: createRoute({
    method: "post",
    path: "/v1/invitations/accept",
    tags,
    summary: "Accept with a token (R-I5…R-I9)",
    request: body(AcceptBodySchema),
    responses: { ...responses, 200: json(AcceptResultSchema, "accepted, or the same result again") },
  }),
  decline: createRoute({
    method: "post",
    path: "/v1/invitations/decline",
    tags,
    summary: "Decline with a token",
    request: body(TokenBodySchema),
    responses: { ...responses, 200: json(InvitationOnlySchema, "declined") },
  }),
  preview: createRoute({
    method: "post",
    path: "/v1/invitations/preview",
    tags,
    summary: "What a token invites to",
    request: body(TokenBodySchema),
    responses: { ...responses, 200: json(PreviewSchema, "preview") },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/invitations/{invitationId}",
    tags,
    summary: "Read an invitation (never the token)",
    request: params,
    responses: { ...responses, 200: json(InvitationOnlySchema, "the invitation") },
  }),
  events: createRoute({
    method: "get",
    path: "/v1/invitations/{invitationId}/events",
    tags,
    summary: "Notification events of an invitation (sender side; R-I10)",
    request: params,
    responses: { ...responses, 200: json(EventsSchema, "events, oldest first") },
  }),
  resend: createRoute({
    method: "post",
    path: "/v1/invitations/{invitationId}/resend",
    tags,
    summary: "New token and new lifetime (R-I4)",
    request: params,
    responses: { ...responses, 200: json(InvitationWithTokenSchema, "resent") },
  }),
  revoke: createRoute({
    method: "post",
    path: "/v1/invitations/{invitationId}/revoke",
    tags,
    summary: "Revoke a pending invitation",
    request: params,
    responses: { ...responses, 200: json(InvitationOnlySchema, "revoked") },
  }),
  acceptById: createRoute({
    method: "post",
    path: "/v1/invitations/{invitationId}/accept",
    tags,
    summary: "Accept a cooperation invitation addressed to the actor's organization",
    request: params,
    responses: { ...responses, 200: json(AcceptResultSchema, "accepted") },
  }),
};

/** Invitations (API.md "Invitations", SPEC §6). Bodies are never logged: they hold tokens. */
export function invitationsRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(r.create, async (c) =>
    c.json(await createInvitation(deps, actorContext(c), c.req.valid("json")), 201),
  );
  app.openapi(r.list, async (c) =>
    c.json(await listForSender(deps, actorContext(c), c.req.valid("query")), 200),
  );
  app.openapi(r.accept, async (c) => {
    const { token, ...rest } = c.req.valid("json");
    return c.json(await acceptByToken(deps, actorContext(c), token, rest), 200);
  });
  app.openapi(r.decline, async (c) =>
    c.json(await declineByToken(deps, actorContext(c), c.req.valid("json").token), 200),
  );
  app.openapi(r.preview, async (c) =>
    c.json(await previewByToken(deps, actorContext(c), c.req.valid("json").token), 200),
  );
  app.openapi(r.get, async (c) =>
    c.json(await getInvitation(deps, actorContext(c), c.req.valid("param").invitationId), 200),
  );
  app.openapi(r.events, async (c) =>
    c.json(await invitationEvents(deps, actorContext(c), c.req.valid("param").invitationId), 200),
  );
  app.openapi(r.resend, async (c) =>
    c.json(await resendInvitation(deps, actorContext(c), c.req.valid("param").invitationId), 200),
  );
  app.openapi(r.revoke, async (c) =>
    c.json(await revokeInvitation(deps, actorContext(c), c.req.valid("param").invitationId), 200),
  );
  app.openapi(r.acceptById, async (c) =>
    c.json(await acceptById(deps, actorContext(c), c.req.valid("param").invitationId), 200),
  );
  return app;
}
