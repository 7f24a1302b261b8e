import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, jsonBody, jsonResponse, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { changeMemberRole, leaveOrganization, removeMember } from "./members.js";
import {
  MemberParams,
  MemberSchema,
  MembersPage,
  MembersQuery,
  MeSchema,
  OrganizationSchema,
  OrgParams,
  RenameBody,
  RoleBody,
} from "./schemas.js";
import { getMe, getOrganization, listMembers, renameOrganization } from "./service.js";

const tags = ["Organizations and members"];
const notFound = problem("organization-not-found or member-not-found");

const me = createRoute({
  method: "get",
  path: "/v1/me",
  tags,
  summary: "The actor, its organization and role",
  responses: { 200: jsonResponse(MeSchema, "the actor"), ...commonErrors },
});
const getOrg = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}",
  tags,
  summary: "Read an organization (members)",
  request: { params: OrgParams },
  responses: { 200: jsonResponse(OrganizationSchema, "the organization"), ...commonErrors, 404: notFound },
});
const patchOrg = createRoute({
  method: "patch",
  path: "/v1/organizations/{orgId}",
  tags,
  summary: "Rename an organization (can_manage_settings)",
  request: { params: OrgParams, ...jsonBody(RenameBody) },
  responses: { 200: jsonResponse(OrganizationSchema, "the organization"), ...commonErrors, 404: notFound },
});
const members = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/members",
  tags,
  summary: "List members (members), ordered by user id",
  request: { params: OrgParams, query: MembersQuery },
  responses: { 200: jsonResponse(MembersPage, "a page of members"), ...commonErrors, 404: notFound },
});
const putRole = createRoute({
  method: "put",
  path: "/v1/organizations/{orgId}/members/{userId}/role",
  tags,
  summary: "Change a member's role (R-O5 ceilings, R-O6)",
  request: { params: MemberParams, ...jsonBody(RoleBody) },
  responses: {
    200: jsonResponse(MemberSchema, "the member"),
    ...commonErrors,
    404: notFound,
    409: problem("last-admin (R-O6)"),
  },
});
const deleteMember = createRoute({
  method: "delete",
  path: "/v1/organizations/{orgId}/members/{userId}",
  tags,
  summary: "Remove a member with all their grants and delegations (R-O5, R-O6, R-O8)",
  request: { params: MemberParams },
  responses: { 204: { description: "removed" }, ...commonErrors, 404: notFound, 409: problem("last-admin") },
});
const leave = createRoute({
  method: "post",
  path: "/v1/organizations/{orgId}/leave",
  tags,
  summary: "The actor leaves the organization (R-O6, R-O8)",
  request: { params: OrgParams },
  responses: { 204: { description: "left" }, ...commonErrors, 404: notFound, 409: problem("last-admin") },
});

/** API.md "Organizations and members". */
export function organizationsRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(me, async (c) => c.json(await getMe(deps, actorContext(c)), 200));
  app.openapi(getOrg, async (c) =>
    c.json(await getOrganization(deps, actorContext(c), c.req.valid("param").orgId), 200),
  );
  app.openapi(patchOrg, async (c) => {
    const { orgId } = c.req.valid("param");
    return c.json(await renameOrganization(deps, actorContext(c), orgId, c.req.valid("json").name), 200);
  });
  app.openapi(members, async (c) => {
    const { orgId } = c.req.valid("param");
    return c.json(await listMembers(deps, actorContext(c), orgId, c.req.valid("query")), 200);
  });
  app.openapi(putRole, async (c) => {
    const { orgId, userId } = c.req.valid("param");
    const { role } = c.req.valid("json");
    return c.json(await changeMemberRole(deps, actorContext(c), orgId, userId, role), 200);
  });
  app.openapi(deleteMember, async (c) => {
    const { orgId, userId } = c.req.valid("param");
    await removeMember(deps, actorContext(c), orgId, userId);
    return c.body(null, 204);
  });
  app.openapi(leave, async (c) => {
    await leaveOrganization(deps, actorContext(c), c.req.valid("param").orgId);
    return c.body(null, 204);
  });
  return app;
}
