import { Engine } from "../../engine/client.js";
import { decider } from "../../engine/decision-cache.js";
import { API_ID, modelObject } from "../../engine/ids.js";
import type { Deps } from "../../kernel/deps.js";
import { DomainError, Forbidden } from "../../kernel/errors.js";
import { metrics } from "../../metrics.js";
import { withSpan } from "../../telemetry.js";
import { matchRoute, type RouteTable } from "./table.js";

export interface ForwardAuthInput {
  /** The authenticated user, from the configured subject header; undefined when absent. */
  subject: string | undefined;
  method: string;
  uri: string;
}

export interface ForwardAuthAllow {
  decision: true;
  action: string;
  resource: { type: string; id: string };
}

/**
 * The gateway decision: route table → (action, resource) → one engine check.
 * Every refusal is a typed error (401 no subject, 403 no route / deny); an
 * engine that does not answer propagates as Unavailable (503), which a
 * gateway treats as a refusal: fail closed.
 */
export async function forwardAuth(
  deps: Deps,
  table: RouteTable,
  input: ForwardAuthInput,
): Promise<ForwardAuthAllow> {
  const m = metrics();
  const stop = m.decisionSeconds.startTimer({ endpoint: "forward-auth" });
  try {
    const res = await withSpan(
      "forward_auth",
      { "http.request.method": input.method, "authz.route.uri": input.uri.split("?", 1)[0] },
      async (span) => {
        if (!input.subject)
          throw new DomainError("unauthenticated", "subject-required", "no authenticated user was forwarded");
        if (!API_ID.test(input.subject))
          throw new DomainError("unauthenticated", "subject-invalid", "the forwarded user id is not valid");
        const match = matchRoute(table, input.method, input.uri);
        if ("reason" in match) {
          throw match.reason === "unsafe-path"
            ? Forbidden("unsafe-path", "the request path is ambiguous and is refused")
            : Forbidden("no-route", `no route for ${input.method} ${input.uri.split("?", 1)[0]}`);
        }
        const object = `${match.resource.type}:${match.resource.id}`;
        span.setAttributes({ "authz.route": match.route.pattern, "authz.action": match.action });
        let allowed: boolean;
        try {
          allowed = await decider(deps).check(
            {
              user: modelObject(deps.managementEnabled, "user", input.subject),
              relation: match.action,
              object: modelObject(deps.managementEnabled, match.resource.type, match.resource.id),
            },
            Engine.now(),
          );
        } catch (err) {
          // An action or type unknown to the model is a deny, never an error a gateway could misread.
          if (!(err instanceof DomainError && err.code === "engine-validation")) throw err;
          deps.log.warn({ err, route: match.route.pattern }, "the engine refused a forward-auth check: deny");
          allowed = false;
        }
        if (!allowed) throw Forbidden("forbidden", `${match.action} on ${object} is denied`);
        return { decision: true as const, action: match.action, resource: match.resource };
      },
    );
    m.decisions.inc({ endpoint: "forward-auth", result: "allow" });
    return res;
  } catch (err) {
    const error = !(err instanceof DomainError) || err.kind === "unavailable";
    m.decisions.inc({ endpoint: "forward-auth", result: error ? "error" : "deny" });
    throw err;
  } finally {
    stop();
  }
}
