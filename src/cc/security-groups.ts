import { Hono } from "hono";
import type { CcContext, CcDeps, CcEnv } from "./deps.ts";
import { getSpace } from "./rows.ts";
import { listRows } from "./list.ts";

/**
 * Application security groups (`cf security-groups`, `cf space`). The
 * appliance applies no egress rules to app instances (local processes share
 * the host's network; on Kubernetes, NetworkPolicies are the operator's), so
 * no security group exists and every list is truthfully empty.
 */
export function securityGroupRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const empty = (c: CcContext) => {
    const res = listRows(c, b(), [] as { created_at: string }[], {
      filters: { names: () => true, guids: () => true, globally_enabled_running: () => true, globally_enabled_staging: () => true, running_space_guids: () => true, staging_space_guids: () => true },
      orderBy: { name: () => "" },
    });
    return c.json({ pagination: res.pagination, resources: [] });
  };
  r.get("/v3/security_groups", (c) => empty(c));
  r.get("/v3/spaces/:guid/running_security_groups", (c) => {
    getSpace(deps.db, c.req.param("guid"));
    return empty(c);
  });
  r.get("/v3/spaces/:guid/staging_security_groups", (c) => {
    getSpace(deps.db, c.req.param("guid"));
    return empty(c);
  });
  return r;
}
