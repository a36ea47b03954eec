import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";

/** The API version we claim: recent enough for cf CLI v7/v8's minimum-version checks. */
export const CC_API_VERSION = "3.180.0";

/** Resources the embedded CC serves, linked from `GET /v3` (the CLI fails on a missing link). */
const V3_RESOURCES = [
  "app_usage_events", "apps", "audit_events", "buildpacks", "builds", "deployments", "domains", "droplets", "environment_variable_groups",
  "feature_flags", "isolation_segments", "jobs", "organization_quotas", "organizations", "packages", "processes", "resource_matches", "roles", "routes",
  "security_groups", "service_brokers", "service_credential_bindings", "service_instances", "service_offerings", "service_plans",
  "service_route_bindings", "space_quotas", "spaces", "stacks", "tasks",
];

/**
 * `GET /` (root links: ccv3/info.go reads cloud_controller_v3 with meta.version,
 * login, uaa, log_cache; what we do not run is null), `GET /v3` and `/v3/info`.
 * None of them needs a token, as in CC.
 */
export function rootRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/", (c) => {
    const b = deps.baseUrl();
    return c.json({
      links: {
        self: { href: b },
        bits_service: null,
        cloud_controller_v2: null,
        cloud_controller_v3: { href: `${b}/v3`, meta: { version: CC_API_VERSION } },
        network_policy_v0: null,
        network_policy_v1: null,
        login: { href: `${b}/uaa` },
        uaa: { href: `${b}/uaa` },
        credhub: null,
        routing: null,
        logging: null,
        log_cache: { href: b },
        log_stream: null,
        app_ssh: null,
      },
      cf_on_k8s: false,
    });
  });
  r.get("/v3", (c) => {
    const b = deps.baseUrl();
    const links: Record<string, { href: string }> = { self: { href: `${b}/v3` }, info: { href: `${b}/v3/info` } };
    for (const name of V3_RESOURCES) links[name] = { href: `${b}/v3/${name}` };
    return c.json({ links });
  });
  r.get("/v3/info", (c) => {
    const b = deps.baseUrl();
    return c.json({
      build: "eirini", cli_version: { minimum: "", recommended: "" }, custom: {}, description: "Eirini appliance: embedded Cloud Controller",
      name: "eirini", version: 1, osbapi_version: "", links: { self: { href: `${b}/v3/info` }, support: { href: "" } },
    });
  });
  return r;
}
