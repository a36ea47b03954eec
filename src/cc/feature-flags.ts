import { Hono } from "hono";
import { z } from "zod";
import { readJson } from "./body.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { CfApiError, notFound } from "./errors.ts";
import { listRows } from "./list.ts";

/**
 * CF's feature flags (`cf feature-flags`, `cf enable-feature-flag`), with
 * Cloud Controller's defaults. Only flags an admin changed have a row
 * (`cc_feature_flags`); the others render `updated_at: null`, as in CF.
 *
 * Honoured here: `task_creation` (run-task), `app_scaling` (scale),
 * `diego_docker` (docker apps and packages), `app_bits_upload` (package
 * upload), `route_creation` (create-route), `private_domain_creation`
 * (create-private-domain), `resource_matching` (no cached resources are
 * matched), `env_var_visibility` (GET app env). The rest concern services,
 * roles and brokers the appliance does not run: they are kept and shown.
 *
 * Decisions: CF lets admins bypass task_creation, app_scaling,
 * app_bits_upload, route_creation and private_domain_creation. Every
 * appliance user holds the admin scope, so a bypass would make those flags
 * inert: here they apply to every caller. `diego_docker` defaults to true
 * (CF: false) because this appliance runs docker images on its Kubernetes
 * backend out of the box.
 */
export const FEATURE_FLAG_DEFAULTS: Readonly<Record<string, boolean>> = {
  app_bits_upload: true,
  app_scaling: true,
  diego_cnb: false,
  diego_docker: true,
  env_var_visibility: true,
  hide_marketplace_from_unauthenticated_users: false,
  private_domain_creation: true,
  resource_matching: true,
  route_creation: true,
  route_sharing: false,
  service_instance_creation: true,
  service_instance_sharing: false,
  set_roles_by_username: true,
  space_developer_env_var_visibility: true,
  space_scoped_private_broker_creation: true,
  task_creation: true,
  unset_roles_by_username: true,
  user_org_creation: false,
};

export type FeatureFlagName = keyof typeof FEATURE_FLAG_DEFAULTS;

interface FlagRow {
  name: string;
  enabled: number;
  custom_error_message: string | null;
  updated_at: string;
}

interface Flag {
  name: string;
  enabled: boolean;
  custom_error_message: string | null;
  updated_at: string | null;
}

function readFlag(deps: Pick<CcDeps, "db">, name: string): Flag {
  const row = deps.db.query("SELECT * FROM cc_feature_flags WHERE name = ?").get(name) as FlagRow | null;
  if (row) return { name, enabled: row.enabled === 1, custom_error_message: row.custom_error_message, updated_at: isoSeconds(new Date(row.updated_at)) };
  return { name, enabled: FEATURE_FLAG_DEFAULTS[name] ?? false, custom_error_message: null, updated_at: null };
}

/** Whether a flag is on now. */
export function featureEnabled(deps: Pick<CcDeps, "db">, name: FeatureFlagName): boolean {
  return readFlag(deps, name).enabled;
}

/**
 * Throws CF's 403 `CF-FeatureDisabled` (code 330002, "Feature Disabled: <name
 * or the admin's custom message>") when the flag is off; call it before a
 * handler changes anything.
 */
export function assertFeatureEnabled(deps: Pick<CcDeps, "db">, name: FeatureFlagName): void {
  const flag = readFlag(deps, name);
  if (!flag.enabled) throw new CfApiError(403, 330002, "CF-FeatureDisabled", `Feature Disabled: ${flag.custom_error_message ?? name}`);
}

const PatchFlag = z.strictObject({
  enabled: z.boolean().optional(),
  custom_error_message: z.string().max(1000).nullable().optional(),
});

export function featureFlagRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const render = (f: Flag) => ({ ...f, links: { self: { href: `${b()}/v3/feature_flags/${f.name}` } } });
  const known = (name: string) => {
    if (!(name in FEATURE_FLAG_DEFAULTS)) throw notFound("Feature flag");
    return name;
  };
  r.get("/v3/feature_flags", (c) => {
    // CF lists flags by name; created_at stands in for listRows' default order.
    const rows = Object.keys(FEATURE_FLAG_DEFAULTS).map((n) => ({ flag: readFlag(deps, n), created_at: n }));
    const res = listRows(c, b(), rows, { filters: { names: (f, v) => v.includes(f.flag.name) }, orderBy: { name: (f) => f.flag.name } });
    return c.json({ pagination: res.pagination, resources: res.page.map((f) => render(f.flag)) });
  });
  r.get("/v3/feature_flags/:name", (c) => c.json(render(readFlag(deps, known(c.req.param("name"))))));
  r.patch("/v3/feature_flags/:name", async (c) => {
    const name = known(c.req.param("name"));
    const body = await readJson(c, PatchFlag);
    const cur = readFlag(deps, name);
    const enabled = body.enabled ?? cur.enabled;
    const message = body.custom_error_message === undefined ? cur.custom_error_message : body.custom_error_message;
    deps.db
      .query(
        `INSERT INTO cc_feature_flags (name, enabled, custom_error_message, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, custom_error_message = excluded.custom_error_message, updated_at = excluded.updated_at`,
      )
      .run(name, enabled ? 1 : 0, message, deps.stamp());
    return c.json(render(readFlag(deps, name)));
  });
  return r;
}
