import { Hono } from "hono";
import { stringify } from "yaml";
import type { CcDeps, CcEnv } from "./deps.ts";
import { appProcesses, getApp, type AppRow, type ProcessRow } from "./rows.ts";
import { appHostnames } from "./routes.ts";
import { parseMap } from "./metadata.ts";

/**
 * `GET /v3/apps/:guid/manifest` (`cf create-app-manifest`): the app's
 * current settings as a manifest CC would render and `cf push -f` takes
 * back: stack, buildpacks, env, routes (or no-route), metadata and every
 * process with its instances, memory, disk, command and health check.
 */
export function appManifest(deps: Pick<CcDeps, "db">, app: AppRow): string {
  const routes = appHostnames(deps.db, app.guid);
  const env = JSON.parse(app.env) as Record<string, string>;
  const buildpacks = JSON.parse(app.buildpacks) as string[];
  const labels = parseMap(app.labels);
  const annotations = parseMap(app.annotations);
  const entry: Record<string, unknown> = { name: app.name };
  if (app.lifecycle_type === "buildpack") {
    if (app.stack) entry.stack = app.stack;
    if (buildpacks.length) entry.buildpacks = buildpacks;
  }
  if (Object.keys(env).length) entry.env = env;
  if (Object.keys(labels).length || Object.keys(annotations).length) {
    entry.metadata = { ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) };
  }
  entry.processes = appProcesses(deps.db, app.guid).map(processEntry);
  if (routes.length) entry.routes = routes.map((route) => ({ route, protocol: "http1" }));
  else entry["no-route"] = true;
  return stringify({ applications: [entry] });
}

function processEntry(p: ProcessRow): Record<string, unknown> {
  const out: Record<string, unknown> = { type: p.type, instances: p.instances, memory: `${p.memory_in_mb}M`, disk_quota: `${p.disk_in_mb}M` };
  if (p.command) out.command = p.command;
  out["health-check-type"] = p.health_check_type;
  if (p.health_check_type === "http") out["health-check-http-endpoint"] = p.health_check_endpoint ?? "/";
  if (p.health_check_invocation_timeout) out["health-check-invocation-timeout"] = p.health_check_invocation_timeout;
  if (p.health_check_timeout) out.timeout = p.health_check_timeout;
  return out;
}

export function appManifestRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/v3/apps/:guid/manifest", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    return c.body(appManifest(deps, app), 200, { "content-type": "application/x-yaml" });
  });
  return r;
}
