import { Hono } from "hono";
import { z } from "zod";
import { appAudit } from "./app-state.ts";
import { Metadata, readJson } from "./body.ts";
import type { CcContext, CcDeps, CcEnv } from "./deps.ts";
import { unprocessable } from "./errors.ts";
import { listRows } from "./list.ts";
import * as present from "./present.ts";
import { findDroplet, getApp, getBuild, getDroplet, type BuildRow, type DropletRow, type PackageRow } from "./rows.ts";
import type { StagingRunner } from "./staging.ts";
import { LONG_POLL_MS, waitUntil } from "./long-poll.ts";
import { write } from "./write.ts";
import { applyMetadata, validateMetadata } from "./metadata.ts";
import { accessFrom, appScope, spaceScope } from "./authz.ts";

const CreateBuild = z.strictObject({
  package: z.object({ guid: z.string().min(1) }),
  lifecycle: z.object({ type: z.enum(["buildpack", "docker"]), data: z.object({ buildpacks: z.array(z.string()).optional(), stack: z.string().optional() }).optional() }).optional(),
  staging_memory_in_mb: z.number().int().min(1).max(64 * 1024).optional(),
  staging_disk_in_mb: z.number().int().min(1).max(64 * 1024).optional(),
  staging_log_rate_limit_bytes_per_second: z.number().int().optional(),
  metadata: Metadata,
});

/** The request schema of this file, for the input-coverage test (every field honoured or refused). */
export const buildSchemas = { CreateBuild };

/** Builds and droplets (ccv3/build.go, droplet.go): `POST /v3/builds` stages a READY package. */
export function buildRoutes(deps: CcDeps, staging: StagingRunner): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();

  r.post("/v3/builds", async (c) => {
    const body = await readJson(c, CreateBuild);
    const pkg = deps.db.query("SELECT * FROM cc_packages WHERE guid = ?").get(body.package.guid) as PackageRow | null;
    if (!pkg) throw unprocessable("Unable to use package. Ensure that the package exists and you have access to it.");
    if (pkg.state !== "READY") throw unprocessable("Package must be in a READY state to stage");
    if (body.lifecycle && body.lifecycle.type !== (pkg.type === "docker" ? "docker" : "buildpack")) throw unprocessable(`Lifecycle type '${body.lifecycle.type}' does not match the package's type '${pkg.type}'`);
    // Staging lines are not rate-limited here: say so rather than accept a limit and ignore it.
    if (body.staging_log_rate_limit_bytes_per_second !== undefined && body.staging_log_rate_limit_bytes_per_second !== -1) {
      throw unprocessable("staging_log_rate_limit_bytes_per_second: only -1 (unlimited) is supported by the Eirini appliance");
    }
    validateMetadata(body.metadata);
    const user = c.get("user");
    const build = write(deps, () => {
      const app = getApp(deps.db, pkg.app_guid);
      const web = deps.db.query("SELECT memory_in_mb, disk_in_mb FROM cc_processes WHERE app_guid = ? AND type = 'web'").get(app.guid) as { memory_in_mb: number; disk_in_mb: number } | null;
      const guid = deps.newGuid();
      const now = deps.stamp();
      const buildpacks = body.lifecycle?.data?.buildpacks ?? (JSON.parse(app.buildpacks) as string[]);
      const stack = body.lifecycle?.data?.stack ?? (app.stack || deps.config.staging.defaultStack);
      deps.db
        .query(
          `INSERT INTO cc_builds (guid, app_guid, package_guid, state, lifecycle_type, buildpacks, stack, staging_memory_in_mb, staging_disk_in_mb, created_by_guid, created_by_name, created_at, updated_at)
           VALUES (?, ?, ?, 'STAGING', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(guid, app.guid, pkg.guid, pkg.type === "docker" ? "docker" : "buildpack", JSON.stringify(buildpacks), stack, body.staging_memory_in_mb ?? web?.memory_in_mb ?? 1024, body.staging_disk_in_mb ?? web?.disk_in_mb ?? 1024, user.guid, user.name, now, now);
      applyMetadata(deps.db, "build", guid, body.metadata);
      appAudit(deps, user, app, "audit.app.build.create", { build_guid: guid, package_guid: pkg.guid });
      if (pkg.type === "docker") {
        // Docker images need no staging: the build yields a droplet that names the image.
        const dropletGuid = deps.newGuid();
        deps.db
          .query(`INSERT INTO cc_droplets (guid, app_guid, package_guid, state, lifecycle_type, docker_image, stack, process_types, created_at, updated_at) VALUES (?, ?, ?, 'STAGED', 'docker', ?, '', '{"web":""}', ?, ?)`)
          .run(dropletGuid, app.guid, pkg.guid, pkg.docker_image, now, now);
        deps.db.query("UPDATE cc_builds SET state = 'STAGED', droplet_guid = ? WHERE guid = ?").run(dropletGuid, guid);
      }
      return getBuild(deps.db, guid);
    });
    if (build.state === "STAGING") staging.start(build);
    return c.json(present.build(b(), getBuild(deps.db, build.guid)), 201);
  });

  const listBuilds = (c: CcContext, rows: BuildRow[]) => {
    const res = listRows(c, b(), rows, {
      filters: { app_guids: (x, v) => v.includes(x.app_guid), states: (x, v) => v.includes(x.state), package_guids: (x, v) => v.includes(x.package_guid), guids: (x, v) => v.includes(x.guid) },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((x) => present.build(b(), x)) });
  };
  r.get("/v3/builds", (c) => {
    const v = appScope(accessFrom(c), "app_guid");
    return listBuilds(c, deps.db.query(`SELECT * FROM cc_builds WHERE ${v.sql}`).all(...v.args) as BuildRow[]);
  });
  r.get("/v3/apps/:guid/builds", (c) => listBuilds(c, deps.db.query("SELECT * FROM cc_builds WHERE app_guid = ?").all(getApp(deps.db, c.req.param("guid")).guid) as BuildRow[]));
  // A build still STAGING may be held (long-poll.ts) until it settles: the CLI then reads STAGED at its first poll.
  r.get("/v3/builds/:guid", async (c) => {
    const guid = getBuild(deps.db, c.req.param("guid")).guid;
    await waitUntil(() => getBuild(deps.db, guid).state !== "STAGING", LONG_POLL_MS, c.req.raw.signal);
    return c.json(present.build(b(), getBuild(deps.db, guid)));
  });

  r.get("/v3/droplets", (c) => {
    const v = spaceScope(accessFrom(c), "a.space_guid");
    const rows = deps.db.query(`SELECT d.*, a.space_guid AS space_guid FROM cc_droplets d JOIN cc_apps a ON a.guid = d.app_guid WHERE ${v.sql}`).all(...v.args) as (DropletRow & { space_guid: string })[];
    const res = listRows(c, b(), rows, {
      filters: { app_guids: (x, v) => v.includes(x.app_guid), states: (x, v) => v.includes(x.state), guids: (x, v) => v.includes(x.guid), space_guids: (x, v) => v.includes(x.space_guid), package_guids: (x, v) => v.includes(x.package_guid ?? "") },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((x) => present.droplet(b(), x)) });
  });
  r.get("/v3/droplets/:guid", (c) => c.json(present.droplet(b(), getDroplet(deps.db, c.req.param("guid")))));
  r.get("/v3/droplets/:guid/download", (c) => {
    const d = findDroplet(deps.db, c.req.param("guid"));
    if (!d || !d.hash || !deps.blobs.has(`sha256:${d.hash}`)) throw unprocessable("Droplet has no bits to download");
    return new Response(deps.blobs.stream(`sha256:${d.hash}`), { headers: { "content-type": "application/gzip" } });
  });
  return r;
}
