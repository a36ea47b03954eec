import type { Database } from "bun:sqlite";
import { assertFeatureEnabled } from "./feature-flags.ts";
import { Hono } from "hono";
import { z } from "zod";
import { actor, touchProcesses } from "./app-state.ts";
import { recordAudit } from "./audit.ts";
import { Metadata, readJson, Relationship } from "./body.ts";
import type { CcContext, CcDeps, CcEnv, CcUser } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import { includes, listRows } from "./list.ts";
import { applyMetadata, validateMetadata } from "./metadata.ts";
import * as present from "./present.ts";
import { findApp, getApp, getDomain, getOrg, getRoute, getSpace, findSpace, type DestinationRow, type DomainRow, type RouteRow } from "./rows.ts";
import { write } from "./write.ts";

/** A DNS label: what the router can match in a Host header. */
export const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/i;
export const HOST_RULE = 'Host must contain only alphanumeric characters or "-", start and end with an alphanumeric character, and be at most 63 characters';

type D = Pick<CcDeps, "db" | "newGuid" | "stamp" | "config" | "ports" | "clock">;

export function validateHost(host: string): void {
  if (host !== "" && !HOST.test(host)) throw unprocessable(HOST_RULE);
}

export function validatePath(path: string): void {
  if (path !== "" && (!path.startsWith("/") || path === "/" || path.includes("?") || path.includes("..") || path.length > 128)) {
    throw unprocessable("Path must start with a slash, not be just a slash, and contain no '?' or '..'");
  }
}

/** Finds the route or creates it (in the caller's transaction). */
export function findOrCreateRoute(deps: D, u: CcUser, spaceGuid: string, domain: DomainRow, host: string, path: string): RouteRow {
  const found = deps.db.query("SELECT * FROM cc_routes WHERE host = ? AND domain_guid = ? AND path = ?").get(host, domain.guid, path) as RouteRow | null;
  if (found) {
    if (found.space_guid !== spaceGuid) throw unprocessable(`The route ${host ? `${host}.` : ""}${domain.name}${path} is already in use by another space.`);
    return found;
  }
  return createRoute(deps, u, spaceGuid, domain, host, path);
}

export function createRoute(deps: D, u: CcUser, spaceGuid: string, domain: DomainRow, host: string, path: string): RouteRow {
  validateHost(host);
  validatePath(path);
  if (deps.db.query("SELECT 1 FROM cc_routes WHERE host = ? AND domain_guid = ? AND path = ?").get(host, domain.guid, path)) {
    throw unprocessable(`Route already exists with host '${host}'${path ? ` and path '${path}'` : ""} for domain '${domain.name}'.`);
  }
  const guid = deps.newGuid();
  const now = deps.stamp();
  deps.db.query("INSERT INTO cc_routes (guid, host, path, domain_guid, space_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)").run(guid, host, path, domain.guid, spaceGuid, now, now);
  const space = getSpace(deps.db, spaceGuid);
  recordAudit(deps, { type: "audit.route.create", actor: actor(u), target: { guid, type: "route", name: host }, data: { request: { host, path, domain_guid: domain.guid } }, space_guid: spaceGuid, organization_guid: space.org_guid });
  return getRoute(deps.db, guid);
}

/** Adds a destination (no-op when already mapped). Returns true when something changed. */
export function mapRoute(deps: D, u: CcUser, route: RouteRow, appGuid: string, processType = "web"): boolean {
  const app = findApp(deps.db, appGuid);
  if (!app) throw unprocessable(`App with guid '${appGuid}' not found`);
  if (app.space_guid !== route.space_guid) throw unprocessable("Routes cannot be mapped to destinations in different spaces.");
  if (deps.db.query("SELECT 1 FROM cc_destinations WHERE route_guid = ? AND app_guid = ? AND process_type = ?").get(route.guid, appGuid, processType)) return false;
  deps.db.query("INSERT INTO cc_destinations (guid, route_guid, app_guid, process_type, port, created_at) VALUES (?, ?, ?, ?, 8080, ?)").run(deps.newGuid(), route.guid, appGuid, processType, deps.stamp());
  touchProcesses(deps, appGuid);
  const space = getSpace(deps.db, app.space_guid);
  recordAudit(deps, { type: "audit.app.map-route", actor: actor(u), target: { guid: app.guid, type: "app", name: app.name }, data: { route_guid: route.guid, app_port: 8080, process_type: processType }, space_guid: app.space_guid, organization_guid: space.org_guid });
  return true;
}

export function destinationsOf(db: Database, routeGuid: string): DestinationRow[] {
  return db.query("SELECT * FROM cc_destinations WHERE route_guid = ? ORDER BY created_at").all(routeGuid) as DestinationRow[];
}

/** `host.domain` of every route mapped to an app (VCAP_APPLICATION uris, `cf app` routes). */
export function appHostnames(db: Database, appGuid: string): string[] {
  const rows = db
    .query("SELECT DISTINCT r.host, r.path, d.name FROM cc_destinations dst JOIN cc_routes r ON r.guid = dst.route_guid JOIN cc_domains d ON d.guid = r.domain_guid WHERE dst.app_guid = ?")
    .all(appGuid) as { host: string; path: string; name: string }[];
  return rows.map((r) => `${r.host ? `${r.host}.` : ""}${r.name}${r.path}`);
}

const CreateRoute = z.strictObject({
  host: z.string().optional(),
  path: z.string().optional(),
  port: z.number().int().optional(),
  relationships: z.object({ space: Relationship, domain: Relationship }),
  options: z.record(z.string(), z.unknown()).optional(),
  metadata: Metadata,
});
const Destinations = z.strictObject({
  destinations: z.array(z.object({ app: z.object({ guid: z.string().min(1), process: z.object({ type: z.string().min(1) }).optional() }), port: z.number().int().optional(), protocol: z.string().optional(), weight: z.null().optional() })),
});

/** Routes, domains and destinations (ccv3/route.go, domain.go; `cf routes`, `cf map-route`, `cf unmap-route`). */
export function routeRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const domainName = (guid: string) => getDomain(deps.db, guid).name;
  const render = (route: RouteRow) => present.route(b(), route, domainName(route.domain_guid), destinationsOf(deps.db, route.guid));

  function listRoutes(c: CcContext, rows: RouteRow[]) {
    const withOrg = rows.map((x) => ({ ...x, org_guid: getSpace(deps.db, x.space_guid).org_guid }));
    const res = listRows(c, b(), withOrg, {
      filters: {
        hosts: (x, v) => v.includes(x.host),
        paths: (x, v) => v.includes(x.path),
        domain_guids: (x, v) => v.includes(x.domain_guid),
        space_guids: (x, v) => v.includes(x.space_guid),
        organization_guids: (x, v) => v.includes(x.org_guid),
        guids: (x, v) => v.includes(x.guid),
        app_guids: (x, v) => destinationsOf(deps.db, x.guid).some((d) => v.includes(d.app_guid)),
        ports: () => false,
      },
      orderBy: { host: (x) => x.host },
    });
    const inc = includes(res.params, ["domain", "space", "space.organization"]);
    const included: Record<string, unknown[]> = {};
    if (inc.has("domain")) included.domains = [...new Set(res.page.map((x) => x.domain_guid))].map((g) => present.domain(b(), getDomain(deps.db, g)));
    if (inc.has("space") || inc.has("space.organization")) included.spaces = [...new Set(res.page.map((x) => x.space_guid))].map((g) => present.space(b(), getSpace(deps.db, g)));
    if (inc.has("space.organization")) included.organizations = [...new Set(res.page.map((x) => x.org_guid))].map((g) => present.org(b(), getOrg(deps.db, g)));
    return c.json({ pagination: res.pagination, resources: res.page.map(render), ...(inc.size ? { included } : {}) });
  }

  r.get("/v3/routes", (c) => listRoutes(c, deps.db.query("SELECT * FROM cc_routes").all() as RouteRow[]));
  r.get("/v3/apps/:guid/routes", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const rows = deps.db.query("SELECT DISTINCT r.* FROM cc_routes r JOIN cc_destinations d ON d.route_guid = r.guid WHERE d.app_guid = ?").all(app.guid) as RouteRow[];
    return listRoutes(c, rows);
  });
  r.get("/v3/routes/:guid", (c) => c.json(render(getRoute(deps.db, c.req.param("guid")))));

  r.post("/v3/routes", async (c) => {
    assertFeatureEnabled(deps, "route_creation");
    const body = await readJson(c, CreateRoute);
    if (body.port !== undefined) throw unprocessable("Routes with ports need a TCP domain; the Eirini appliance has HTTP domains only");
    const spaceGuid = body.relationships.space.data.guid;
    if (!findSpace(deps.db, spaceGuid)) throw unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
    const domain = deps.db.query("SELECT * FROM cc_domains WHERE guid = ?").get(body.relationships.domain.data.guid) as DomainRow | null;
    if (!domain) throw unprocessable("Invalid domain. Ensure that the domain exists and you have access to it.");
    validateMetadata(body.metadata);
    const route = write(deps, () => {
      const created = createRoute(deps, c.get("user"), spaceGuid, domain, body.host ?? "", body.path ?? "");
      applyMetadata(deps.db, "route", created.guid, body.metadata);
      return getRoute(deps.db, created.guid);
    });
    return c.json(render(route), 201);
  });

  r.patch("/v3/routes/:guid", async (c) => {
    const guid = getRoute(deps.db, c.req.param("guid")).guid;
    const body = await readJson(c, z.strictObject({ metadata: Metadata }));
    validateMetadata(body.metadata);
    const route = write(deps, () => {
      applyMetadata(deps.db, "route", guid, body.metadata);
      deps.db.query("UPDATE cc_routes SET updated_at = ? WHERE guid = ?").run(deps.stamp(), guid);
      return getRoute(deps.db, guid);
    });
    return c.json(render(route));
  });
  r.delete("/v3/routes/:guid", (c) => {
    const route = getRoute(deps.db, c.req.param("guid"));
    const apps = destinationsOf(deps.db, route.guid).map((d) => d.app_guid);
    const jobGuid = write(deps, () => {
      for (const a of apps) touchProcesses(deps, a);
      const space = getSpace(deps.db, route.space_guid);
      recordAudit(deps, { type: "audit.route.delete-request", actor: actor(c.get("user")), target: { guid: route.guid, type: "route", name: route.host }, data: {}, space_guid: route.space_guid, organization_guid: space.org_guid });
      deps.db.query("DELETE FROM cc_routes WHERE guid = ?").run(route.guid);
      return recordJob(deps, "route.delete");
    }, () => apps);
    c.header("Location", jobLocation(deps, jobGuid));
    return c.body(null, 202);
  });

  // `cf delete-orphaned-routes`: every route of the space with no destination, deleted in one job.
  r.delete("/v3/spaces/:guid/routes", (c) => {
    const space = getSpace(deps.db, c.req.param("guid"));
    if (c.req.query("unmapped") !== "true") throw unprocessable("Mass delete not supported for mapped routes. Use 'unmapped=true' parameter to delete all unmapped routes.");
    const jobGuid = write(deps, () => {
      const orphans = deps.db.query("SELECT * FROM cc_routes r WHERE r.space_guid = ? AND NOT EXISTS (SELECT 1 FROM cc_destinations d WHERE d.route_guid = r.guid)").all(space.guid) as RouteRow[];
      for (const route of orphans) {
        recordAudit(deps, { type: "audit.route.delete-request", actor: actor(c.get("user")), target: { guid: route.guid, type: "route", name: route.host }, data: { request: { recursive: false } }, space_guid: space.guid, organization_guid: space.org_guid });
        deps.db.query("DELETE FROM cc_routes WHERE guid = ?").run(route.guid);
      }
      return recordJob(deps, "space.delete_unmapped_routes");
    });
    c.header("Location", jobLocation(deps, jobGuid));
    return c.body(null, 202);
  });

  const destBody = (route: RouteRow) => ({
    destinations: destinationsOf(deps.db, route.guid).map(present.destination),
    links: { self: { href: `${b()}/v3/routes/${route.guid}/destinations` }, route: { href: `${b()}/v3/routes/${route.guid}` } },
  });
  r.get("/v3/routes/:guid/destinations", (c) => c.json(destBody(getRoute(deps.db, c.req.param("guid")))));
  const addDestinations = (replace: boolean) => async (c: CcContext) => {
    const route = getRoute(deps.db, c.req.param("guid") ?? "");
    const body = await readJson(c, Destinations);
    for (const d of body.destinations) if (d.port !== undefined && d.port !== 8080) throw unprocessable("Destinations on the Eirini appliance use the app port 8080");
    const before = destinationsOf(deps.db, route.guid).map((d) => d.app_guid);
    write(deps, () => {
      if (replace) {
        for (const d of destinationsOf(deps.db, route.guid)) {
          deps.db.query("DELETE FROM cc_destinations WHERE guid = ?").run(d.guid);
          touchProcesses(deps, d.app_guid);
        }
      }
      for (const d of body.destinations) mapRoute(deps, c.get("user"), route, d.app.guid, d.app.process?.type ?? "web");
    }, () => [...before, ...body.destinations.map((d) => d.app.guid)]);
    return c.json(destBody(route));
  };
  r.post("/v3/routes/:guid/destinations", addDestinations(false));
  r.patch("/v3/routes/:guid/destinations", addDestinations(true));
  r.delete("/v3/routes/:guid/destinations/:dest", (c) => {
    const route = getRoute(deps.db, c.req.param("guid"));
    const dest = deps.db.query("SELECT * FROM cc_destinations WHERE guid = ? AND route_guid = ?").get(c.req.param("dest"), route.guid) as DestinationRow | null;
    if (!dest) throw notFound("Destination");
    write(deps, () => {
      deps.db.query("DELETE FROM cc_destinations WHERE guid = ?").run(dest.guid);
      touchProcesses(deps, dest.app_guid);
      const app = getApp(deps.db, dest.app_guid);
      const space = getSpace(deps.db, app.space_guid);
      recordAudit(deps, { type: "audit.app.unmap-route", actor: actor(c.get("user")), target: { guid: app.guid, type: "app", name: app.name }, data: { route_guid: route.guid, process_type: dest.process_type }, space_guid: app.space_guid, organization_guid: space.org_guid });
    }, () => [dest.app_guid]);
    return c.body(null, 204);
  });

  r.get("/v3/domains", (c) => {
    const rows = deps.db.query("SELECT * FROM cc_domains").all() as DomainRow[];
    const res = listRows(c, b(), rows, { filters: { names: (d, v) => v.includes(d.name), guids: (d, v) => v.includes(d.guid), organization_guids: () => true }, orderBy: { name: (d) => d.name } });
    return c.json({ pagination: res.pagination, resources: res.page.map((d) => present.domain(b(), d)) });
  });
  r.get("/v3/domains/:guid", (c) => c.json(present.domain(b(), getDomain(deps.db, c.req.param("guid")))));
  r.get("/v3/domains/:guid/route_reservations", (c) => {
    const domain = getDomain(deps.db, c.req.param("guid"));
    const host = c.req.query("host") ?? "";
    const path = c.req.query("path") ?? "";
    const hit = deps.db.query("SELECT 1 FROM cc_routes WHERE host = ? AND domain_guid = ? AND path = ?").get(host, domain.guid, path);
    return c.json({ matching_route: Boolean(hit) });
  });
  return r;
}
