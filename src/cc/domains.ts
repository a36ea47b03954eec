import { Hono } from "hono";
import { z } from "zod";
import { actor, touchProcesses } from "./app-state.ts";
import { recordAudit } from "./audit.ts";
import { Metadata, readJson, Relationship } from "./body.ts";
import type { CcContext, CcDeps, CcEnv } from "./deps.ts";
import { unprocessable } from "./errors.ts";
import { assertFeatureEnabled } from "./feature-flags.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import { listRows } from "./list.ts";
import * as present from "./present.ts";
import { findOrg, getDomain, getOrg, type DomainRow } from "./rows.ts";
import { write } from "./write.ts";

// CC's domain name rules: dot-separated DNS labels, at least two of them, at most 253 characters.
const DOMAIN_NAME = /^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;

const CreateDomain = z.strictObject({
  name: z.string().min(1),
  internal: z.boolean().optional(),
  router_group: z.object({ guid: z.string() }).nullable().optional(),
  relationships: z
    .object({ organization: Relationship.optional(), shared_organizations: z.object({ data: z.array(z.object({ guid: z.string() })) }).optional() })
    .optional(),
  metadata: Metadata,
});

/**
 * The names of every domain, cached for the router's front door (asked on
 * every request); refreshed whenever a domain is created or deleted.
 */
export class DomainNames {
  private cached: readonly string[] | null = null;
  constructor(private readonly deps: Pick<CcDeps, "db">) {}
  list(): readonly string[] {
    return (this.cached ??= (this.deps.db.query("SELECT name FROM cc_domains").all() as { name: string }[]).map((d) => d.name));
  }
  invalidate(): void {
    this.cached = null;
  }
}

/**
 * Domains (`cf domains`, `cf create-shared-domain`, `cf create-private-domain`,
 * `cf delete-shared-domain`, `cf delete-private-domain`). A private domain
 * belongs to one org (`cc_domains.org_guid`, migration 0011) and is listed
 * only for it; shared domains are everyone's. Routes on any domain reach the
 * router through the desired LRPs' routes, which the router claims by Host
 * (src/router: names under `router.domain`, or any host an LRP routes).
 * Registered before routes.ts, so these list and read handlers answer.
 */
export function domainRoutes(deps: CcDeps, names: DomainNames): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const all = () => deps.db.query("SELECT * FROM cc_domains").all() as DomainRow[];
  const list = (c: CcContext, rows: DomainRow[]) => {
    const res = listRows(c, b(), rows, {
      filters: {
        names: (d, v) => v.includes(d.name),
        guids: (d, v) => v.includes(d.guid),
        organization_guids: (d, v) => d.org_guid != null && v.includes(d.org_guid),
      },
      orderBy: { name: (d) => d.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((d) => present.domain(b(), d)) });
  };

  r.get("/v3/domains", (c) => list(c, all()));
  r.get("/v3/domains/:guid", (c) => c.json(present.domain(b(), getDomain(deps.db, c.req.param("guid")))));
  // An org sees the shared domains and its own private ones.
  r.get("/v3/organizations/:guid/domains", (c) => {
    const org = getOrg(deps.db, c.req.param("guid"));
    return list(c, all().filter((d) => d.org_guid == null || d.org_guid === org.guid));
  });

  r.post("/v3/domains", async (c) => {
    const body = await readJson(c, CreateDomain);
    const name = body.name.toLowerCase();
    if (!DOMAIN_NAME.test(name)) throw unprocessable(`Name does not comply with RFC 1035 standards: '${body.name}' (dot-separated labels of letters, digits and '-')`);
    if (body.router_group) throw unprocessable("Router groups are not supported: the Eirini appliance has HTTP domains only");
    const orgGuid = body.relationships?.organization?.data.guid ?? null;
    if (orgGuid !== null) {
      assertFeatureEnabled(deps, "private_domain_creation");
      if (!findOrg(deps.db, orgGuid)) throw unprocessable(`Organization with guid '${orgGuid}' does not exist or you do not have access to it.`);
      if (body.internal) throw unprocessable("Cannot associate an internal domain with an organization");
    }
    // The router claims every host under a domain: one covering the API's own host would make the API unreachable.
    const apiHost = new URL(deps.baseUrl()).hostname.toLowerCase();
    const configured = deps.config.externalUrl ? new URL(deps.config.externalUrl).hostname.toLowerCase() : apiHost;
    for (const h of new Set([apiHost, configured])) {
      if (h === name || h.endsWith(`.${name}`)) throw unprocessable(`The domain ${name} would cover the appliance's own API host ${h}; choose a domain apps alone use`);
    }
    if ((body.relationships?.shared_organizations?.data.length ?? 0) > 0) throw unprocessable("Sharing private domains with other organizations is not supported by the Eirini appliance");
    const created = deps.db.transaction(() => {
      if (deps.db.query("SELECT 1 FROM cc_domains WHERE name = ?").get(name)) throw unprocessable(`The domain name "${name}" is already in use`);
      const guid = deps.newGuid();
      const now = deps.stamp();
      deps.db.query("INSERT INTO cc_domains (guid, name, internal, org_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)").run(guid, name, body.internal ? 1 : 0, orgGuid, now, now);
      recordAudit(deps, { type: "audit.domain.create", actor: actor(c.get("user")), target: { guid, type: "domain", name }, data: { request: { name, internal: body.internal ?? false, organization_guid: orgGuid } }, organization_guid: orgGuid ?? "" });
      return getDomain(deps.db, guid);
    }).immediate() as DomainRow;
    names.invalidate();
    return c.json(present.domain(b(), created), 201);
  });

  r.delete("/v3/domains/:guid", (c) => {
    const domain = getDomain(deps.db, c.req.param("guid"));
    if (domain.name === deps.config.router.domain) {
      throw unprocessable(`The domain ${domain.name} is the appliance's default app domain (config router.domain) and cannot be deleted`);
    }
    // As in CF, deleting a domain deletes its routes; the apps they were mapped to lose them (the Sink re-converges those apps).
    write(deps, () => {
      const apps = (deps.db.query("SELECT DISTINCT dst.app_guid FROM cc_destinations dst JOIN cc_routes r ON r.guid = dst.route_guid WHERE r.domain_guid = ?").all(domain.guid) as { app_guid: string }[]).map((a) => a.app_guid);
      deps.db.query("DELETE FROM cc_routes WHERE domain_guid = ?").run(domain.guid);
      deps.db.query("DELETE FROM cc_domains WHERE guid = ?").run(domain.guid);
      for (const a of apps) touchProcesses(deps, a);
      recordAudit(deps, { type: "audit.domain.delete-request", actor: actor(c.get("user")), target: { guid: domain.guid, type: "domain", name: domain.name }, organization_guid: domain.org_guid ?? "" });
      return apps;
    }, (apps) => apps);
    names.invalidate();
    const job = recordJob(deps, "domain.delete");
    return c.body(null, 202, { Location: jobLocation(deps, job) });
  });
  return r;
}
