import { z } from "@hono/zod-openapi";
import { API_ID, API_ID_MESSAGE } from "../../kernel/ids.js";

/**
 * The forward-auth route table (ROUTES_FILE, YAML), validated at start:
 *
 *   routes:
 *     - method: GET                      # or a list, or "*" for any method
 *       path: /parks/:parkId/settings    # literal segments, :params, a trailing * for "the rest"
 *       action: can_configure_settings   # the permission checked
 *       resource: { type: park, param: parkId }   # or { type: platform, id: default }
 *
 * Routes are tried in file order; the first match decides.
 */
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"] as const;
const Method = z.enum(METHODS);
const NAME = /^[a-z][a-z0-9_]*$/;
const PARAM = /^:[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[A-Za-z0-9._~@:|-]+$/;

const ResourceRef = z.union([
  z.strictObject({ type: z.string().regex(NAME, "a type name of the model"), param: z.string().min(1) }),
  z.strictObject({
    type: z.string().regex(NAME, "a type name of the model"),
    id: z.string().regex(API_ID, API_ID_MESSAGE),
  }),
]);

export const RouteSchema = z
  .strictObject({
    method: z.union([Method, z.array(Method).min(1)]),
    path: z.string().startsWith("/", "must start with /").max(1024),
    action: z.string().regex(/^[a-z][a-z0-9_]*$/, "a permission name such as can_view"),
    resource: ResourceRef,
  })
  .superRefine((r, ctx) => {
    const segments = r.path.split("/").slice(1);
    const params = new Set<string>();
    segments.forEach((seg, i) => {
      const last = i === segments.length - 1;
      if (seg === "*" && last) return;
      if (seg === "" && last && segments.length === 1) return; // "/" itself
      if (PARAM.test(seg)) {
        if (params.has(seg.slice(1)))
          ctx.addIssue({ code: "custom", path: ["path"], message: `${seg} twice` });
        params.add(seg.slice(1));
      } else if (!LITERAL.test(seg) || seg === "." || seg === "..") {
        ctx.addIssue({ code: "custom", path: ["path"], message: `bad segment "${seg}"` });
      }
    });
    if ("param" in r.resource && !params.has(r.resource.param)) {
      ctx.addIssue({
        code: "custom",
        path: ["resource", "param"],
        message: `"${r.resource.param}" is not a :parameter of ${r.path}`,
      });
    }
  });

export const RouteTableSchema = z.strictObject({ routes: z.array(RouteSchema).max(10_000) });
export type RouteTableFile = z.infer<typeof RouteTableSchema>;

export const ForwardAuthAllowed = z
  .object({
    decision: z.literal(true),
    action: z.string(),
    resource: z.object({ type: z.string(), id: z.string() }),
  })
  .openapi("ForwardAuthAllowed");
