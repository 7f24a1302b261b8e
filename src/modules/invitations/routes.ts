import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, jsonBody, jsonResponse, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
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
const params = { params: InvitationIdParam };
const notFound = { 404: problem("invitation-not-found") };
/** An invitation that is no longer pending (lifecycle.ts stateError). */
const notPending = {
  409: problem("invitation-declined, invitation-already-accepted or invitation-not-pending"),
  410: problem("invitation-expired or invitation-revoked"),
};

const r = {
  create: createRoute({
    method: "post",
    path: "/v1/invitations",
    tags,
    summary: "Create an invitation (R-I1)",
    request: jsonBody(CreateInvitationSchema),
    responses: {
      201: jsonResponse(InvitationWithTokenSchema, "created; the token is shown only here"),
      ...commonErrors,
      404: problem("organization-not-found (the partner organization)"),
      409: problem("cooperation-exists or cooperation-with-itself"),
    },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/invitations",
    tags,
    summary: "List invitations (sender side)",
    request: { query: ListQuerySchema },
    responses: { 200: jsonResponse(InvitationPageSchema, "a page"), ...commonErrors },
  }),
  accept: createRoute({
    method: "post",
    path: "/v1/invitations/accept",
    tags,
    summary: "Accept with a token (R-I5…R-I9)",
    request: jsonBody(AcceptBodySchema),
    responses: {
      200: jsonResponse(AcceptResultSchema, "accepted, or the same result again"),
      ...commonErrors,
      403: problem("email-mismatch or partner-admin-required"),
      ...notFound,
      ...notPending,
      409: problem(
        "invitation-declined or invitation-already-accepted; already-member (the invitee belongs to an organization) or cooperation-exists",
      ),
    },
  }),
  decline: createRoute({
    method: "post",
    path: "/v1/invitations/decline",
    tags,
    summary: "Decline with a token",
    request: jsonBody(TokenBodySchema),
    responses: {
      200: jsonResponse(InvitationOnlySchema, "declined"),
      ...commonErrors,
      403: problem("email-mismatch or partner-admin-required"),
      ...notFound,
      ...notPending,
    },
  }),
  preview: createRoute({
    method: "post",
    path: "/v1/invitations/preview",
    tags,
    summary: "What a token invites to",
    request: jsonBody(TokenBodySchema),
    responses: { 200: jsonResponse(PreviewSchema, "preview"), ...commonErrors, ...notFound, ...notPending },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/invitations/{invitationId}",
    tags,
    summary: "Read an invitation (never the token)",
    request: params,
    responses: { 200: jsonResponse(InvitationOnlySchema, "the invitation"), ...commonErrors, ...notFound },
  }),
  events: createRoute({
    method: "get",
    path: "/v1/invitations/{invitationId}/events",
    tags,
    summary: "Notification events of an invitation (sender side; R-I10)",
    request: params,
    responses: { 200: jsonResponse(EventsSchema, "events, oldest first"), ...commonErrors, ...notFound },
  }),
  resend: createRoute({
    method: "post",
    path: "/v1/invitations/{invitationId}/resend",
    tags,
    summary: "New token and new lifetime (R-I4)",
    request: params,
    responses: {
      200: jsonResponse(InvitationWithTokenSchema, "resent"),
      ...commonErrors,
      ...notFound,
      ...notPending,
    },
  }),
  revoke: createRoute({
    method: "post",
    path: "/v1/invitations/{invitationId}/revoke",
    tags,
    summary: "Revoke a pending invitation",
    request: params,
    responses: {
      200: jsonResponse(InvitationOnlySchema, "revoked"),
      ...commonErrors,
      ...notFound,
      ...notPending,
    },
  }),
  acceptById: createRoute({
    method: "post",
    path: "/v1/invitations/{invitationId}/accept",
    tags,
    summary: "Accept a cooperation invitation addressed to the actor's organization",
    request: params,
    responses: {
      200: jsonResponse(AcceptResultSchema, "accepted"),
      ...commonErrors,
      403: problem("token-required, or not an admin of the addressed organization (partner-admin-required)"),
      ...notFound,
      ...notPending,
      409: problem(
        "invitation-declined or invitation-already-accepted; already-member (the invitee belongs to an organization) or cooperation-exists",
      ),
    },
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
