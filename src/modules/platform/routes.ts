import { createRoute } from "@hono/zod-openapi";
import { actorContext } from "../../http/actor.js";
import { commonErrors, createRouter, jsonBody, jsonResponse, problem } from "../../http/openapi.js";
import type { Deps } from "../../kernel/deps.js";
import { StaffBody, StaffParams, StaffResponse } from "./schemas.js";
import { removeStaff, setStaffRole } from "./service.js";

const putStaff = createRoute({
  method: "put",
  path: "/v1/platform/staff/{userId}",
  tags: ["Platform"],
  summary: "Set a platform staff role (sysadmins)",
  request: {
    params: StaffParams,
    ...jsonBody(StaffBody),
  },
  responses: {
    200: jsonResponse(StaffResponse, "the staff role"),
    ...commonErrors,
    409: problem("last-sysadmin: the platform keeps at least one sysadmin"),
  },
});

const deleteStaff = createRoute({
  method: "delete",
  path: "/v1/platform/staff/{userId}",
  tags: ["Platform"],
  summary: "Remove a platform staff member (sysadmins)",
  request: { params: StaffParams },
  responses: {
    204: { description: "removed" },
    ...commonErrors,
    404: problem("staff-not-found"),
    409: problem("last-sysadmin: the platform keeps at least one sysadmin"),
  },
});

/** Platform staff (API.md "Platform"); authority through `can_administer` on platform:default. */
export function platformRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(putStaff, async (c) => {
    const { userId } = c.req.valid("param");
    const { role } = c.req.valid("json");
    return c.json(await setStaffRole(deps, actorContext(c), userId, role), 200);
  });
  app.openapi(deleteStaff, async (c) => {
    await removeStaff(deps, actorContext(c), c.req.valid("param").userId);
    return c.body(null, 204);
  });
  return app;
}
