import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { API_ID } from "../../kernel/ids.js";
import { RouteTableSchema } from "./schemas.js";

export interface CompiledRoute {
  methods: Set<string> | "*";
  segments: string[];
  /** The pattern ends with `*`: any remaining segments match. */
  rest: boolean;
  pattern: string;
  action: string;
  resource: { type: string; param: string } | { type: string; id: string };
}

export interface RouteTable {
  routes: CompiledRoute[];
  source?: string;
}

export interface RouteMatch {
  route: CompiledRoute;
  action: string;
  resource: { type: string; id: string };
}

/** Why no route applies: none matches, or the path is one we refuse to interpret. */
export type NoMatch = { reason: "no-route" | "unsafe-path" };

export class RouteTableError extends Error {}

export const EMPTY_TABLE: RouteTable = { routes: [] };

/** Validate and compile a parsed table; throws RouteTableError naming every problem. */
export function compileRouteTable(data: unknown, source = "route table"): RouteTable {
  const parsed = RouteTableSchema.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new RouteTableError(`invalid ${source}:\n${lines.join("\n")}`);
  }
  return {
    source,
    routes: parsed.data.routes.map((r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      const segments = r.path === "/" ? [] : r.path.split("/").slice(1);
      const rest = segments.at(-1) === "*";
      return {
        methods: methods.includes("*") ? "*" : new Set(methods),
        segments: rest ? segments.slice(0, -1) : segments,
        rest,
        pattern: r.path,
        action: r.action,
        resource: r.resource,
      };
    }),
  };
}

/** Read ROUTES_FILE (YAML or JSON); a missing, unparsable or invalid file throws RouteTableError. */
export function loadRouteTable(file: string): RouteTable {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new RouteTableError(`cannot read ROUTES_FILE ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new RouteTableError(`ROUTES_FILE ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return compileRouteTable(data, `ROUTES_FILE ${file}`);
}

/**
 * Split a raw request URI into decoded segments. Gateways pass the URI as the
 * client sent it, and the upstream may normalize it differently than we would,
 * so anything ambiguous is refused instead of guessed: dot segments, empty
 * inner segments (`//`), encoded slashes or backslashes, bad percent-encoding.
 */
export function splitUri(uri: string): string[] | null {
  let path = uri.split(/[?#]/, 1)[0] ?? "";
  if (/^https?:\/\//i.test(path)) path = path.replace(/^https?:\/\/[^/]*/i, "") || "/";
  if (!path.startsWith("/") || path.includes("\\")) return null;
  const raw = path.split("/").slice(1);
  if (raw.length > 1 && raw.at(-1) === "") raw.pop(); // one trailing slash
  if (raw.length === 1 && raw[0] === "") return [];
  const out: string[] = [];
  for (const seg of raw) {
    if (seg === "" || /%(2f|5c|00)/i.test(seg)) return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return null;
    }
    if (decoded === "." || decoded === "..") return null;
    out.push(decoded);
  }
  return out;
}

/** The first route that matches method and URI, with its resource id taken from the path. */
export function matchRoute(table: RouteTable, method: string, uri: string): RouteMatch | NoMatch {
  const segments = splitUri(uri);
  if (!segments) return { reason: "unsafe-path" };
  const m = method.toUpperCase();
  for (const route of table.routes) {
    if (route.methods !== "*" && !route.methods.has(m)) continue;
    if (route.rest ? segments.length < route.segments.length : segments.length !== route.segments.length)
      continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < route.segments.length && ok; i++) {
      const pat = route.segments[i]!;
      const seg = segments[i]!;
      if (pat.startsWith(":")) {
        if (API_ID.test(seg)) params[pat.slice(1)] = seg;
        else ok = false;
      } else ok = pat === seg;
    }
    if (!ok) continue;
    const id = "id" in route.resource ? route.resource.id : params[route.resource.param]!;
    return { route, action: route.action, resource: { type: route.resource.type, id } };
  }
  return { reason: "no-route" };
}
