import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { CfApiError } from "./errors.ts";
import { getSpace, type AppRow } from "./rows.ts";
import { appHostnames } from "./routes.ts";

/**
 * The CF V2 API as far as the stock cf CLI v7 still uses it: its service
 * commands (`cf services`, `cf service`, `cf create-service`, ...) are v6
 * code that first reads `GET /v2/info` (UAA endpoint, API version), then V2
 * resources. The appliance runs no service brokers, so the service lists
 * are truthfully empty (`cf services` prints "No services found") and every
 * other V2 path answers CF V2's own 404 JSON, which the CLI prints.
 *
 * The OCI registry shares the `/v2/` prefix; `isCfV2Path` tells the two
 * apart by the registry's grammar (`/v2/`, `/v2/_catalog`, `/v2/token`,
 * `/v2/<name>/manifests|blobs|tags|referrers/...`), so neither shadows the other.
 */
const REGISTRY_PATH = /^\/v2\/?$|^\/v2\/(?:_catalog|token)$|^\/v2\/.+\/(?:manifests|blobs|tags|referrers)\/.*$/;

/** True for a `/v2/...` path that belongs to the CF V2 API rather than the image registry. */
export function isCfV2Path(path: string): boolean {
  return path.startsWith("/v2/") && !REGISTRY_PATH.test(path);
}

/** Semantic version CC's V2 API had alongside V3 3.180 (the CLI's minimum for v6 commands is 2.128). */
export const CC_V2_API_VERSION = "2.245.0";

/** A V2 error body: `{code, description, error_code}` (the CLI's ccv2 error wrapper reads these). */
export function v2Error(status: 400 | 401 | 403 | 404 | 422 | 500, code: number, errorCode: string, description: string): Response {
  return Response.json({ code, description, error_code: errorCode }, { status });
}

/** A V2 paginated list (ccv2/paginated_resources.go: next_url drives paging). */
function v2List(resources: unknown[]) {
  return { total_results: resources.length, total_pages: 1, prev_url: null, next_url: null, resources };
}

/** `authenticate` checks the bearer token (every V2 path but /v2/info needs one, as in CC). */
export function v2Routes(deps: CcDeps, authenticate: (authorization: string | undefined, method: string) => void): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.use("/v2/*", async (c, next) => {
    if (c.req.path !== "/v2/info") authenticate(c.req.header("authorization"), c.req.method);
    await next();
  });
  r.onError((err) => {
    if (err instanceof CfApiError) return v2Error(err.status as 404, err.code, err.title, err.detail);
    deps.logger.error("V2 request failed", { error: err });
    return v2Error(500, 10001, "UnknownError", "An unknown error occurred.");
  });
  r.get("/v2/info", () => {
    const b = deps.baseUrl();
    return Response.json({
      name: "eirini", build: "eirini", support: "", version: 0, description: "Eirini appliance: embedded Cloud Controller",
      authorization_endpoint: `${b}/uaa`, token_endpoint: `${b}/uaa`, min_cli_version: null, min_recommended_cli_version: null,
      app_ssh_endpoint: null, app_ssh_host_key_fingerprint: null, app_ssh_oauth_client: null, doppler_logging_endpoint: null,
      api_version: CC_V2_API_VERSION, osbapi_version: "2.15", routing_endpoint: null, user: undefined,
    });
  });
  // `cf services` (v2action GetServiceInstancesSummaryBySpace): the space summary and the service list.
  r.get("/v2/spaces/:guid/summary", (c) => {
    const space = getSpace(deps.db, c.req.param("guid"));
    const apps = deps.db.query("SELECT * FROM cc_apps WHERE space_guid = ? ORDER BY name").all(space.guid) as AppRow[];
    const web = deps.db.query("SELECT instances, memory_in_mb, disk_in_mb FROM cc_processes WHERE app_guid = ? AND type = 'web'");
    return Response.json({
      guid: space.guid,
      name: space.name,
      apps: apps.map((a) => {
        const p = web.get(a.guid) as { instances: number; memory_in_mb: number; disk_in_mb: number } | null;
        return { guid: a.guid, name: a.name, state: a.state, urls: appHostnames(deps.db, a.guid), instances: p?.instances ?? 0, memory: p?.memory_in_mb ?? 0, disk_quota: p?.disk_in_mb ?? 0, service_count: 0, service_names: [] };
      }),
      services: [],
    });
  });
  // No service brokers run on the appliance: these lists are empty because nothing exists, not because they are unimplemented.
  for (const path of ["/v2/services", "/v2/service_instances", "/v2/user_provided_service_instances", "/v2/service_brokers", "/v2/service_plans", "/v2/spaces/:guid/service_instances", "/v2/spaces/:guid/services", "/v2/service_keys", "/v2/service_bindings", "/v2/service_plan_visibilities"]) {
    r.get(path, () => Response.json(v2List([])));
  }
  r.all("/v2/*", (c) =>
    v2Error(404, 10000, "CF-NotFound", `Unknown request: ${c.req.method} ${c.req.path}: the Eirini appliance serves CF's V3 API; of V2 it answers /v2/info and the (empty) service lists, as it runs no service brokers or user-provided services`),
  );
  return r;
}
