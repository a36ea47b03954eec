import { Hono } from "hono";
import { envVarGroup } from "./env-var-groups.ts";
import { assertFeatureEnabled } from "./feature-flags.ts";
import { z } from "zod";
import { actor, appAudit, assertAppName, createApp, requireDockerSupport, setCurrentDroplet, setState, bumpVersions } from "./app-state.ts";
import { recordAudit } from "./audit.ts";
import { Metadata, readJson, Relationship } from "./body.ts";
import { applyMetadata, validateMetadata } from "./metadata.ts";
import { updateMetadata } from "./metadata-update.ts";
import type { CcContext, CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import { includes, listRows } from "./list.ts";
import * as present from "./present.ts";
import { findSpace, getApp, getOrg, getSpace, spaceAndOrg, webProcess, type AppRow, type DropletRow, type PackageRow } from "./rows.ts";
import { appHostnames } from "./routes.ts";
import { vcapApplication } from "./vcap.ts";
import { write } from "./write.ts";

const Lifecycle = z.union([
  z.object({ type: z.literal("buildpack"), data: z.object({ buildpacks: z.array(z.string()).optional(), stack: z.string().optional() }).optional() }),
  z.object({ type: z.literal("docker"), data: z.object({}).optional() }),
]);

const CreateApp = z.strictObject({
  name: z.string().min(1),
  relationships: z.object({ space: Relationship }),
  lifecycle: Lifecycle.optional(),
  environment_variables: z.record(z.string(), z.string()).optional(),
  metadata: Metadata,
});

const UpdateApp = z.strictObject({ name: z.string().min(1).optional(), lifecycle: Lifecycle.optional(), metadata: Metadata });
const EnvPatch = z.strictObject({ var: z.record(z.string().min(1), z.string().nullable()) });
const DropletRel = z.strictObject({ data: z.object({ guid: z.string().min(1) }) });

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Apps: list/create/get/update/delete, actions, env, environment_variables, current droplet (ccv3/application.go, environment*.go). */
export function appRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();

  function withIncluded(apps: AppRow[], params: URLSearchParams) {
    const inc = includes(params, ["space", "space.organization", "org"]);
    if (inc.size === 0) return undefined;
    const spaceGuids = [...new Set(apps.map((a) => a.space_guid))];
    const spaces = spaceGuids.map((g) => getSpace(deps.db, g));
    const included: Record<string, unknown[]> = { spaces: spaces.map((s) => present.space(b(), s)) };
    if (inc.has("space.organization") || inc.has("org")) {
      included.organizations = [...new Set(spaces.map((s) => s.org_guid))].map((g) => present.org(b(), getOrg(deps.db, g)));
    }
    return included;
  }

  r.get("/v3/apps", (c) => {
    const rows = deps.db.query("SELECT a.*, s.org_guid AS org_guid FROM cc_apps a JOIN cc_spaces s ON s.guid = a.space_guid").all() as (AppRow & { org_guid: string })[];
    const res = listRows(c, b(), rows, {
      filters: {
        names: (a, v) => v.includes(a.name),
        guids: (a, v) => v.includes(a.guid),
        space_guids: (a, v) => v.includes(a.space_guid),
        organization_guids: (a, v) => v.includes(a.org_guid),
        stacks: (a, v) => v.includes(a.stack),
        lifecycle_type: (a, v) => v.includes(a.lifecycle_type),
      },
      orderBy: { name: (a) => a.name, state: (a) => a.state },
    });
    const included = withIncluded(res.page, res.params);
    return c.json({ pagination: res.pagination, resources: res.page.map((a) => present.app(b(), a)), ...(included ? { included } : {}) });
  });

  r.post("/v3/apps", async (c) => {
    const body = await readJson(c, CreateApp);
    const spaceGuid = body.relationships.space.data.guid;
    if (!findSpace(deps.db, spaceGuid)) throw unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
    for (const k of Object.keys(body.environment_variables ?? {})) if (!ENV_NAME.test(k)) throw unprocessable(`Environment variable name '${k}' is invalid`);
    validateMetadata(body.metadata);
    const lc = body.lifecycle;
    if (lc?.type === "docker") requireDockerSupport(deps);
    const app = write(deps, () => {
      const created = createApp(deps, c.get("user"), {
        name: body.name,
        space_guid: spaceGuid,
        lifecycle_type: lc?.type ?? "buildpack",
        buildpacks: lc?.type === "buildpack" ? (lc.data?.buildpacks ?? []) : [],
        stack: lc?.type === "docker" ? "" : (lc?.data?.stack ?? deps.config.staging.defaultStack),
        env: body.environment_variables ?? {},
      });
      // A new app is STOPPED with no LRP yet: nothing to roll.
      applyMetadata(deps.db, "app", created.guid, body.metadata);
      return getApp(deps.db, created.guid);
    });
    return c.json(present.app(b(), app), 201);
  });

  r.get("/v3/apps/:guid", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const included = withIncluded([app], new URL(c.req.url).searchParams);
    return c.json({ ...present.app(b(), app), ...(included ? { included } : {}) });
  });

  r.patch("/v3/apps/:guid", async (c) => {
    const guid = c.req.param("guid");
    getApp(deps.db, guid);
    const body = await readJson(c, UpdateApp);
    validateMetadata(body.metadata);
    if (body.lifecycle?.type === "docker") requireDockerSupport(deps);
    const app = write(deps, () => {
      const cur = getApp(deps.db, guid);
      if (body.name !== undefined) assertAppName(body.name);
      if (body.name && body.name !== cur.name) {
        if (deps.db.query("SELECT 1 FROM cc_apps WHERE space_guid = ? AND name = ?").get(cur.space_guid, body.name)) {
          throw unprocessable(`App with the name '${body.name}' already exists.`);
        }
      }
      const lc = body.lifecycle;
      deps.db
        .query("UPDATE cc_apps SET name = ?, lifecycle_type = ?, buildpacks = ?, stack = ?, updated_at = ? WHERE guid = ?")
        .run(
          body.name ?? cur.name,
          lc?.type ?? cur.lifecycle_type,
          lc?.type === "buildpack" && lc.data?.buildpacks ? JSON.stringify(lc.data.buildpacks) : cur.buildpacks,
          lc?.type === "buildpack" && lc.data?.stack ? lc.data.stack : cur.stack,
          deps.stamp(),
          guid,
        );
      updateMetadata(deps, "app", guid, body.metadata);
      const updated = getApp(deps.db, guid);
      appAudit(deps, c.get("user"), updated, "audit.app.update", { request: body });
      return updated;
    }, (a) => [a.guid]);
    return c.json(present.app(b(), app));
  });

  r.delete("/v3/apps/:guid", async (c) => {
    const guid = c.req.param("guid");
    const app = getApp(deps.db, guid);
    const running = deps.db.query("SELECT guid FROM cc_tasks WHERE app_guid = ? AND state IN ('PENDING', 'RUNNING')").all(guid) as { guid: string }[];
    const jobGuid = write(deps, () => {
      const { space } = spaceAndOrg(deps.db, app.space_guid);
      recordAudit(deps, { type: "audit.app.delete-request", actor: actor(c.get("user")), target: { guid, type: "app", name: app.name }, data: { request: { recursive: true } }, space_guid: app.space_guid, organization_guid: space.org_guid });
      deps.db.query("DELETE FROM cc_apps WHERE guid = ?").run(guid);
      return recordJob(deps, "app.delete");
    }, () => [guid]);
    for (const t of running) await deps.ports.tasks.cancelTask(t.guid).catch((err: unknown) => deps.logger.warn("cancelling task of deleted app failed", { task: t.guid, error: err }));
    deps.ports.logs.deleteSource?.(guid);
    c.header("Location", jobLocation(deps, jobGuid));
    return c.body(null, 202);
  });

  const action = (path: string, run: (guid: string, c: CcContext) => AppRow) =>
    r.post(`/v3/apps/:guid/actions/${path}`, (c) => {
      const guid = c.req.param("guid");
      getApp(deps.db, guid);
      const app = write(deps, () => run(guid, c), () => [guid]);
      return c.json(present.app(b(), app));
    });
  action("start", (g, c) => setState(deps, c.get("user"), g, "STARTED", "audit.app.start"));
  action("stop", (g, c) => setState(deps, c.get("user"), g, "STOPPED", "audit.app.stop"));
  action("restart", (g, c) => {
    const app = getApp(deps.db, g);
    if (!app.droplet_guid) throw unprocessable("Assign a droplet before starting this app.");
    deps.db.query("UPDATE cc_apps SET state = 'STARTED', updated_at = ? WHERE guid = ?").run(deps.stamp(), g);
    bumpVersions(deps, g);
    const updated = getApp(deps.db, g);
    appAudit(deps, c.get("user"), updated, "audit.app.restart");
    return updated;
  });

  r.get("/v3/apps/:guid/env", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    assertFeatureEnabled(deps, "env_var_visibility");
    const { space, org } = spaceAndOrg(deps.db, app.space_guid);
    return c.json({
      staging_env_json: envVarGroup(deps, "staging"),
      running_env_json: envVarGroup(deps, "running"),
      environment_variables: JSON.parse(app.env) as Record<string, string>,
      system_env_json: { VCAP_SERVICES: {} },
      application_env_json: { VCAP_APPLICATION: vcapApplication(app, space, org, appHostnames(deps.db, app.guid), b(), webProcess(deps.db, app.guid) ?? undefined) },
    });
  });

  const envBody = (app: AppRow) => ({
    var: JSON.parse(app.env) as Record<string, string>,
    links: { self: { href: `${b()}/v3/apps/${app.guid}/environment_variables` }, app: { href: `${b()}/v3/apps/${app.guid}` } },
  });
  r.get("/v3/apps/:guid/environment_variables", (c) => c.json(envBody(getApp(deps.db, c.req.param("guid")))));
  r.patch("/v3/apps/:guid/environment_variables", async (c) => {
    const guid = c.req.param("guid");
    getApp(deps.db, guid);
    const body = await readJson(c, EnvPatch);
    for (const k of Object.keys(body.var)) {
      if (!ENV_NAME.test(k)) throw unprocessable(`Environment variable name '${k}' is invalid: use letters, digits and underscores, not starting with a digit`);
      if (k.startsWith("VCAP_")) throw unprocessable("Environment variable names cannot start with VCAP_");
      if (k === "PORT") throw unprocessable("PORT is a reserved environment variable name");
    }
    const app = write(deps, () => {
      const cur = getApp(deps.db, guid);
      const env = JSON.parse(cur.env) as Record<string, string>;
      for (const [k, v] of Object.entries(body.var)) {
        if (v === null) delete env[k];
        else env[k] = v;
      }
      deps.db.query("UPDATE cc_apps SET env = ?, updated_at = ? WHERE guid = ?").run(JSON.stringify(env), deps.stamp(), guid);
      const updated = getApp(deps.db, guid);
      appAudit(deps, c.get("user"), updated, "audit.app.update", { request: { environment_variables: "[PRIVATE DATA HIDDEN]" } });
      return updated;
    }, (a) => [a.guid]);
    return c.json(envBody(app));
  });

  const dropletRel = (app: AppRow) => ({
    data: app.droplet_guid ? { guid: app.droplet_guid } : null,
    links: { self: { href: `${b()}/v3/apps/${app.guid}/relationships/current_droplet` }, related: { href: `${b()}/v3/apps/${app.guid}/droplets/current` } },
  });
  r.get("/v3/apps/:guid/relationships/current_droplet", (c) => c.json(dropletRel(getApp(deps.db, c.req.param("guid")))));
  r.patch("/v3/apps/:guid/relationships/current_droplet", async (c) => {
    const guid = c.req.param("guid");
    getApp(deps.db, guid);
    const body = await readJson(c, DropletRel);
    const app = write(deps, () => setCurrentDroplet(deps, c.get("user"), guid, body.data.guid), () => [guid]);
    return c.json(dropletRel(app));
  });
  r.get("/v3/apps/:guid/droplets/current", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const d = app.droplet_guid ? (deps.db.query("SELECT * FROM cc_droplets WHERE guid = ?").get(app.droplet_guid) as DropletRow | null) : null;
    if (!d) throw notFound("Droplet");
    return c.json(present.droplet(b(), d));
  });
  r.get("/v3/apps/:guid/droplets", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const rows = deps.db.query("SELECT * FROM cc_droplets WHERE app_guid = ?").all(app.guid) as DropletRow[];
    const res = listRows(c, b(), rows, { filters: { states: (d, v) => v.includes(d.state), guids: (d, v) => v.includes(d.guid) }, extra: ["current"] });
    const current = res.params.get("current") === "true";
    const page = current ? res.page.filter((d) => d.guid === app.droplet_guid) : res.page;
    return c.json({ pagination: res.pagination, resources: page.map((d) => present.droplet(b(), d)) });
  });
  r.get("/v3/apps/:guid/packages", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const rows = deps.db.query("SELECT * FROM cc_packages WHERE app_guid = ?").all(app.guid) as PackageRow[];
    const res = listRows(c, b(), rows, { filters: { states: (p, v) => v.includes(p.state), types: (p, v) => v.includes(p.type), guids: (p, v) => v.includes(p.guid) } });
    return c.json({ pagination: res.pagination, resources: res.page.map((p) => present.pkg(b(), p)) });
  });
  return r;
}
