import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { listRows } from "./list.ts";

/**
 * Org and space roles (`cf org-users`, `cf space-users`). Every appliance
 * user holds the global admin scope and no org or space role is ever
 * assigned, so the role list is truthfully empty (as it is on CF for an org
 * only admins use).
 */
export function roleRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/v3/roles", (c) => {
    const res = listRows(c, deps.baseUrl(), [] as { created_at: string }[], {
      filters: Object.fromEntries(["guids", "types", "organization_guids", "space_guids", "user_guids"].map((f) => [f, () => true])),
    });
    return c.json({ pagination: res.pagination, resources: [], included: { users: [], organizations: [], spaces: [] } });
  });
  return r;
}
