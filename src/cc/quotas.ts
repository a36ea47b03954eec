import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound } from "./errors.ts";
import { listRows } from "./list.ts";
import { getOrg, getSpace, type OrgRow } from "./rows.ts";
import { isoSeconds } from "./clock.ts";

/**
 * Org quotas and isolation segments as `cf org` and `cf space` read them.
 * The appliance enforces no org quota: every org carries CF's "default"
 * quota with every limit null, which is CF's way of saying unlimited. No
 * isolation segments exist (placement is by cell tags, see README), so the
 * org default and space assignment relationships are empty.
 */
export const DEFAULT_ORG_QUOTA_GUID = "6f1bb2bb-0d50-4b6c-9e5a-8f2e0d3e7a01";

export function quotaRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const render = () => {
    const orgs = deps.db.query("SELECT guid, created_at FROM cc_orgs ORDER BY created_at").all() as Pick<OrgRow, "guid" | "created_at">[];
    const at = isoSeconds(new Date(orgs[0]?.created_at ?? deps.clock.now().toISOString()));
    return {
      guid: DEFAULT_ORG_QUOTA_GUID, created_at: at, updated_at: at, name: "default",
      apps: { total_memory_in_mb: null, per_process_memory_in_mb: null, total_instances: null, per_app_tasks: null, log_rate_limit_in_bytes_per_second: null },
      services: { paid_services_allowed: true, total_service_instances: null, total_service_keys: null },
      routes: { total_routes: null, total_reserved_ports: null },
      domains: { total_domains: null },
      relationships: { organizations: { data: orgs.map((o) => ({ guid: o.guid })) } },
      links: { self: { href: `${b()}/v3/organization_quotas/${DEFAULT_ORG_QUOTA_GUID}` } },
    };
  };
  r.get("/v3/organization_quotas", (c) => {
    const q = render();
    const res = listRows(c, b(), [q], {
      filters: { names: (x, v) => v.includes(x.name), guids: (x, v) => v.includes(x.guid), organization_guids: (x, v) => x.relationships.organizations.data.some((o) => v.includes(o.guid)) },
      orderBy: { name: (x) => x.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page });
  });
  r.get("/v3/organization_quotas/:guid", (c) => {
    if (c.req.param("guid") !== DEFAULT_ORG_QUOTA_GUID) throw notFound("Organization quota");
    return c.json(render());
  });
  // No space quotas exist: spaces carry a null quota relationship and the CLI does not ask.
  r.get("/v3/space_quotas", (c) => {
    const res = listRows(c, b(), [] as { created_at: string }[], { filters: { names: () => true, guids: () => true, organization_guids: () => true, space_guids: () => true } });
    return c.json({ pagination: res.pagination, resources: [] });
  });

  r.get("/v3/organizations/:guid/relationships/default_isolation_segment", (c) => {
    const org = getOrg(deps.db, c.req.param("guid"));
    return c.json({ data: null, links: { self: { href: `${b()}/v3/organizations/${org.guid}/relationships/default_isolation_segment` } } });
  });
  r.get("/v3/spaces/:guid/relationships/isolation_segment", (c) => {
    const space = getSpace(deps.db, c.req.param("guid"));
    return c.json({ data: null, links: { self: { href: `${b()}/v3/spaces/${space.guid}/relationships/isolation_segment` } } });
  });
  r.get("/v3/isolation_segments", (c) => {
    const res = listRows(c, b(), [] as { created_at: string }[], { filters: { names: () => true, guids: () => true, organization_guids: () => true }, orderBy: { name: () => "" } });
    return c.json({ pagination: res.pagination, resources: [] });
  });
  return r;
}
