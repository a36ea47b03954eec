import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { listRows } from "./list.ts";
import { getOrg, getSpace } from "./rows.ts";

/** Isolation segments (`cf isolation-segments`, the org default and space assignment `cf org` and `cf space` read). */
export function isolationRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
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
