import { Hono } from "hono";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { createApp, appAudit, requireDockerSupport } from "./app-state.ts";
import { Command, QUOTA_MAX_MB, readText, zodDetail } from "./body.ts";
import type { CcDeps, CcEnv, CcUser } from "./deps.ts";
import { messageParseError, unprocessable } from "./errors.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import { validateMetadata } from "./metadata.ts";
import { updateMetadata } from "./metadata-update.ts";
import { defaultDomain } from "./orgs-spaces.ts";
import { scaleProcess, updateProcess } from "./processes.ts";
import { ensureProcess } from "./app-state.ts";
import { getApp, getSpace, type AppRow, type DomainRow } from "./rows.ts";
import { findOrCreateRoute, HOST, HOST_RULE, mapRoute, validatePath } from "./routes.ts";
import { ENV_NAME } from "./apps.ts";
import { write } from "./write.ts";

const UNITS: Record<string, number> = { B: 1 / (1024 * 1024), K: 1 / 1024, KB: 1 / 1024, M: 1, MB: 1, G: 1024, GB: 1024, T: 1024 * 1024, TB: 1024 * 1024 };

/** "256M", "1G", "512MB" -> megabytes, as CC parses manifest sizes. */
export function sizeToMb(v: string | number, field: string): number {
  const m = /^\s*(\d+)\s*([A-Za-z]+)\s*$/.exec(String(v));
  const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
  if (!m || unit === undefined) throw unprocessable(`${field} must use a supported unit: B, K, KB, M, MB, G, GB, T, or TB`);
  const mb = Math.floor(Number(m[1]) * unit);
  if (mb < 1) throw unprocessable(`${field} must be greater than 0MB`);
  // Bounded as the API bounds memory_in_mb / disk_in_mb (99999999999999999999T is not 1e26 MB).
  if (!Number.isSafeInteger(mb) || mb > QUOTA_MAX_MB) throw unprocessable(`${field} must be less than or equal to ${QUOTA_MAX_MB}MB`);
  return mb;
}

const Size = z.union([z.string(), z.number()]);
const HealthType = z.enum(["port", "http", "process", "none"]);
const ProcessFields = {
  command: Command.nullable().optional(),
  instances: z.number().int().min(0).max(2000).optional(),
  memory: Size.optional(),
  disk_quota: Size.optional(),
  "disk-quota": Size.optional(),
  "health-check-type": HealthType.optional(),
  "health-check-http-endpoint": z.string().optional(),
  "health-check-invocation-timeout": z.number().int().min(1).optional(),
  "health-check-interval": z.number().int().min(1).optional(),
  timeout: z.number().int().min(1).max(3600).optional(),
  "log-rate-limit-per-second": z.union([z.string(), z.number()]).optional(),
};
const ManifestProcess = z.strictObject({ type: z.string().min(1), ...ProcessFields });
const ManifestApp = z.strictObject({
  name: z.string().min(1),
  path: z.string().optional(),
  buildpack: z.string().optional(),
  buildpacks: z.array(z.string()).optional(),
  stack: z.string().optional(),
  docker: z.strictObject({ image: z.string().min(1), username: z.string().optional() }).optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  routes: z.array(z.strictObject({ route: z.string().min(1), protocol: z.enum(["http1", "http2"]).optional(), options: z.record(z.string(), z.unknown()).optional() })).optional(),
  "no-route": z.boolean().optional(),
  "random-route": z.boolean().optional(),
  "default-route": z.boolean().optional(),
  processes: z.array(ManifestProcess).optional(),
  metadata: z.object({ labels: z.record(z.string(), z.string().nullable()).optional(), annotations: z.record(z.string(), z.string().nullable()).optional() }).optional(),
  services: z.array(z.unknown()).optional(),
  sidecars: z.array(z.unknown()).optional(),
  ...ProcessFields,
});
const Manifest = z.strictObject({ version: z.number().optional(), applications: z.array(ManifestApp).min(1) });
type ManifestApp = z.infer<typeof ManifestApp>;

/** Parses and checks a manifest completely before anything is applied (bad manifests change nothing). */
export function parseManifest(text: string, deps: Pick<CcDeps, "db" | "config" | "ports">): ManifestApp[] {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw messageParseError(`manifest is not valid YAML (${(err as Error).message.split("\n")[0]})`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) throw unprocessable(zodDetail(parsed.error));
  const names = new Set<string>();
  for (const a of parsed.data.applications) {
    if (names.has(a.name)) throw unprocessable(`Application '${a.name}' appears twice in the manifest`);
    names.add(a.name);
    if (a.services?.length) throw unprocessable(`For application '${a.name}': services are not supported by the Eirini appliance`);
    validateMetadata(a.metadata);
    if (a.sidecars?.length) throw unprocessable(`For application '${a.name}': sidecars are not supported by the Eirini appliance`);
    if (a.docker) requireDockerSupport(deps);
    if (a.docker && (a.buildpacks?.length || a.buildpack)) throw unprocessable(`For application '${a.name}': Cannot specify both buildpack(s) and docker image`);
    for (const k of Object.keys(a.env ?? {})) if (!ENV_NAME.test(k) || k.startsWith("VCAP_") || k === "PORT") throw unprocessable(`For application '${a.name}': environment variable name '${k}' is invalid`);
    for (const p of [a, ...(a.processes ?? [])]) {
      const label = "type" in p ? `Process "${(p as { type: string }).type}"` : `For application '${a.name}': Process "web"`;
      if (p.memory !== undefined) sizeToMb(p.memory, `${label}: Memory`);
      const disk = p.disk_quota ?? p["disk-quota"];
      if (disk !== undefined) sizeToMb(disk, `${label}: Disk quota`);
      const ep = p["health-check-http-endpoint"];
      if (ep !== undefined && !ep.startsWith("/")) throw unprocessable(`${label}: Health check http endpoint must be a valid URI path`);
    }
    if (a["no-route"] && (a.routes?.length || a["random-route"])) throw unprocessable(`For application '${a.name}': Cannot use the combination of properties: no-route, routes/random-route`);
    for (const r of a.routes ?? []) splitRoute(deps, r.route);
    if (a["default-route"] && !a.routes?.length && !a["random-route"] && !a["no-route"] && !HOST.test(a.name)) {
      throw unprocessable(`For application '${a.name}': the default route needs the app name as a host: ${HOST_RULE}. Use --random-route, --no-route or a routes entry.`);
    }
  }
  return parsed.data.applications;
}

/** "host.domain/path" against our domains (longest domain suffix wins), validated. */
export function splitRoute(deps: Pick<CcDeps, "db">, route: string): { domain: DomainRow; host: string; path: string } {
  const cleaned = route.replace(/^https?:\/\//, "");
  const slash = cleaned.indexOf("/");
  const hostPart = (slash < 0 ? cleaned : cleaned.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? "" : cleaned.slice(slash);
  if (hostPart.includes(":")) throw unprocessable(`Route '${route}': TCP routes with ports are not supported`);
  const domains = (deps.db.query("SELECT * FROM cc_domains").all() as DomainRow[]).sort((a, b) => b.name.length - a.name.length);
  const domain = domains.find((d) => hostPart === d.name || hostPart.endsWith(`.${d.name}`));
  if (!domain) throw unprocessable(`The route '${route}' did not match any existing domains.`);
  const host = hostPart === domain.name ? "" : hostPart.slice(0, -(domain.name.length + 1));
  if (host !== "" && !HOST.test(host)) throw unprocessable(`Route '${route}': ${HOST_RULE}`);
  validatePath(path);
  return { domain, host, path };
}

function applyApp(deps: CcDeps, u: CcUser, spaceGuid: string, m: ManifestApp): AppRow {
  let app = deps.db.query("SELECT * FROM cc_apps WHERE space_guid = ? AND name = ?").get(spaceGuid, m.name) as AppRow | null;
  const buildpacks = m.buildpacks ?? (m.buildpack ? [m.buildpack] : undefined);
  if (!app) {
    app = createApp(deps, u, {
      name: m.name, space_guid: spaceGuid, lifecycle_type: m.docker ? "docker" : "buildpack", buildpacks: buildpacks ?? [],
      stack: m.docker ? "" : (m.stack ?? deps.config.staging.defaultStack), env: {},
    });
  }
  const env = { ...(JSON.parse(app.env) as Record<string, string>), ...Object.fromEntries(Object.entries(m.env ?? {}).map(([k, v]) => [k, String(v)])) };
  deps.db
    .query("UPDATE cc_apps SET lifecycle_type = ?, buildpacks = ?, stack = ?, env = ?, updated_at = ? WHERE guid = ?")
    .run(m.docker ? "docker" : app.lifecycle_type, buildpacks ? JSON.stringify(buildpacks) : app.buildpacks, m.stack ?? app.stack, JSON.stringify(env), deps.stamp(), app.guid);
  // Manifest metadata merges like a PATCH (scheduling annotations included; a change bumps versions).
  updateMetadata(deps, "app", app.guid, m.metadata);

  const procs = [{ type: "web", ...pickProcess(m) }, ...(m.processes ?? []).map((p) => ({ ...pickProcess(p), type: p.type }))];
  for (const p of procs) {
    const row = ensureProcess(deps, app.guid, p.type);
    const disk = p.disk_quota ?? p["disk-quota"];
    scaleProcess(deps, row, { instances: p.instances, memory_in_mb: p.memory !== undefined ? sizeToMb(p.memory, "Memory") : undefined, disk_in_mb: disk !== undefined ? sizeToMb(disk, "Disk quota") : undefined });
    const hc = p["health-check-type"] || p["health-check-http-endpoint"] || p.timeout || p["health-check-invocation-timeout"]
      ? { type: p["health-check-type"], endpoint: p["health-check-http-endpoint"], timeout: p.timeout, invocation_timeout: p["health-check-invocation-timeout"] }
      : undefined;
    if (p.command !== undefined || hc) updateProcess(deps, ensureProcess(deps, app.guid, p.type), p.command, hc);
  }

  const hasRoutes = () => Boolean(deps.db.query("SELECT 1 FROM cc_destinations WHERE app_guid = ?").get(app!.guid));
  if (m["no-route"]) {
    deps.db.query("DELETE FROM cc_destinations WHERE app_guid = ?").run(app.guid);
  } else if (m.routes?.length) {
    for (const r of m.routes) {
      const { domain, host, path } = splitRoute(deps, r.route);
      mapRoute(deps, u, findOrCreateRoute(deps, u, spaceGuid, domain, host, path), app.guid);
    }
  } else if (m["random-route"] && !hasRoutes()) {
    const suffix = deps.newGuid().replaceAll("-", "").slice(0, 8);
    const base = m.name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) || "app";
    mapRoute(deps, u, findOrCreateRoute(deps, u, spaceGuid, defaultDomain(deps), `${base}-${suffix}`, ""), app.guid);
  } else if (m["default-route"] && !hasRoutes()) {
    mapRoute(deps, u, findOrCreateRoute(deps, u, spaceGuid, defaultDomain(deps), m.name.toLowerCase(), ""), app.guid);
  }
  const updated = getApp(deps.db, app.guid);
  appAudit(deps, u, updated, "audit.app.apply_manifest", { manifest_triggered: true });
  return updated;
}

function pickProcess(p: z.infer<typeof ManifestProcess> | ManifestApp) {
  const { command, instances, memory, disk_quota, timeout } = p;
  return { command, instances, memory, disk_quota, "disk-quota": p["disk-quota"], timeout, "health-check-type": p["health-check-type"], "health-check-http-endpoint": p["health-check-http-endpoint"], "health-check-invocation-timeout": p["health-check-invocation-timeout"] };
}

/** `POST /v3/spaces/:guid/actions/apply_manifest` (YAML body) -> 202 + Location of a job (ccv3/manifest.go). */
export function manifestRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.post("/v3/spaces/:guid/actions/apply_manifest", async (c) => {
    const space = getSpace(deps.db, c.req.param("guid"));
    const apps = parseManifest(await readText(c), deps);
    const jobGuid = write(deps, () => {
      const touched = apps.map((m) => applyApp(deps, c.get("user"), space.guid, m).guid);
      return { job: recordJob(deps, "app.apply_manifest"), touched };
    }, (x) => x.touched).job;
    c.header("Location", jobLocation(deps, jobGuid));
    return c.body(null, 202);
  });
  return r;
}
