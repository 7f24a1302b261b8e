import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  compileRouteTable,
  loadRouteTable,
  matchRoute,
  RouteTableError,
  splitUri,
} from "../../src/modules/gateway/table.js";

const fixtures = path.resolve(import.meta.dirname, "../fixtures/gateway");
const table = loadRouteTable(path.join(fixtures, "routes.yaml"));

describe("forward-auth route table", () => {
  it("maps method + path pattern to an action and a resource id from a path parameter", () => {
    expect(matchRoute(table, "GET", "/portfolios/pf-1?x=1")).toMatchObject({
      action: "can_view",
      resource: { type: "portfolio", id: "pf-1" },
    });
    expect(matchRoute(table, "put", "/portfolios/pf-1/settings")).toMatchObject({
      action: "can_configure_settings",
      resource: { type: "portfolio", id: "pf-1" },
    });
    expect(matchRoute(table, "DELETE", "/orgs/o1/billing")).toMatchObject({
      resource: { type: "organization", id: "o1" },
    });
    expect(matchRoute(table, "POST", "/admin/invitations")).toMatchObject({
      resource: { type: "platform", id: "default" },
    });
  });

  it("matches a trailing * against any remaining segments, but not fewer", () => {
    expect(matchRoute(table, "GET", "/parks/p1/files/a/b.txt")).toMatchObject({
      resource: { type: "park", id: "p1" },
    });
    expect(matchRoute(table, "GET", "/parks/p1")).toEqual({ reason: "no-route" });
  });

  it("refuses unknown methods and paths with no-route", () => {
    expect(matchRoute(table, "DELETE", "/portfolios/pf-1")).toEqual({ reason: "no-route" });
    expect(matchRoute(table, "GET", "/portfolios/pf-1/other")).toEqual({ reason: "no-route" });
    expect(matchRoute(table, "GET", "/portfolios/bad%20id")).toEqual({ reason: "no-route" });
  });

  it("refuses ambiguous paths instead of guessing how the upstream normalizes them", () => {
    for (const uri of [
      "/portfolios/../orgs/o1/billing",
      "/portfolios/%2e%2e/x",
      "/portfolios//pf-1",
      "/portfolios/a%2Fb",
      "/portfolios/a\\b",
      "/portfolios/%zz",
      "portfolios/pf-1",
    ]) {
      expect(matchRoute(table, "GET", uri), uri).toEqual({ reason: "unsafe-path" });
    }
    expect(splitUri("/portfolios/pf-1/")).toEqual(["portfolios", "pf-1"]);
    expect(splitUri("http://gw.example/portfolios/pf-1")).toEqual(["portfolios", "pf-1"]);
  });

  it("names every problem of an invalid table", () => {
    expect(() => loadRouteTable(path.join(fixtures, "bad-routes.yaml"))).toThrow(RouteTableError);
    try {
      loadRouteTable(path.join(fixtures, "bad-routes.yaml"));
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toMatch(/routes\.0\.method/);
      expect(msg).toMatch(/routes\.0\.path/);
    }
    expect(() =>
      compileRouteTable({
        routes: [
          {
            method: "GET",
            path: "/parks/:parkId",
            action: "can_view",
            resource: { type: "park", param: "id" },
          },
        ],
      }),
    ).toThrow(/"id" is not a :parameter/);
    expect(() => compileRouteTable({ routes: [], extra: 1 })).toThrow(RouteTableError);
    expect(() => loadRouteTable(path.join(fixtures, "missing.yaml"))).toThrow(/cannot read ROUTES_FILE/);
  });
});
