import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { listRows } from "./list.ts";

/** `GET /v3/stacks`: the one stack staging builds on (config staging.defaultStack). Empty lists for features we do not run. */
export function stackRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  r.get("/v3/stacks", (c) => {
    const name = deps.config.staging.defaultStack;
    const at = new Date(0).toISOString();
    const stack = { guid: `stack-${name}`, name, description: `${name} root filesystem`, created_at: at, updated_at: at, default: true };
    const res = listRows(c, b(), [stack], { filters: { names: (s, v) => v.includes(s.name) }, orderBy: { name: (s) => s.name } });
    return c.json({
      pagination: res.pagination,
      resources: res.page.map((s) => ({ ...s, created_at: "1970-01-01T00:00:00Z", updated_at: "1970-01-01T00:00:00Z", build_rootfs_image: name, run_rootfs_image: name, metadata: { labels: {}, annotations: {} }, links: { self: { href: `${b()}/v3/stacks/${s.guid}` } } })),
    });
  });
  const empty = (path: string, filters: string[]) =>
    r.get(path, (c) => {
      const res = listRows(c, b(), [] as { created_at: string }[], { filters: Object.fromEntries(filters.map((f) => [f, () => true])) });
      return c.json({ pagination: res.pagination, resources: [] });
    });
  // No rolling deployments or feature flags on the appliance: honest empty lists the CLI can page through.
  empty("/v3/deployments", ["app_guids", "status_values", "states", "guids"]);
  empty("/v3/feature_flags", ["names"]);
  return r;
}
