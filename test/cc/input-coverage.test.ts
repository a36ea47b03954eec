import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { stringify as toYaml } from "yaml";
import type { z } from "zod";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { appFeatureSchemas } from "../../src/cc/app-features.ts";
import { appSchemas } from "../../src/cc/apps.ts";
import { buildpackSchemas } from "../../src/cc/buildpacks.ts";
import { domainSchemas } from "../../src/cc/domains.ts";
import { envVarGroupSchemas } from "../../src/cc/env-var-groups.ts";
import { featureFlagSchemas } from "../../src/cc/feature-flags.ts";
import { orgSpaceSchemas } from "../../src/cc/orgs-spaces.ts";
import { packageCopySchemas } from "../../src/cc/package-copy.ts";
import { buildSchemas } from "../../src/cc/builds.ts";
import { manifestSchemas } from "../../src/cc/manifest.ts";
import { packageSchemas } from "../../src/cc/packages.ts";
import { processSchemas } from "../../src/cc/processes.ts";
import { isolationSchemas } from "../../src/cc/isolation.ts";
import { quotaSchemas } from "../../src/cc/quotas.ts";
import { roleSchemas } from "../../src/cc/roles.ts";
import { routeSchemas } from "../../src/cc/routes.ts";
import { taskSchemas } from "../../src/cc/tasks.ts";
import type { LRP, Task } from "../../src/model/index.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { makeHarness, makeZip, sha1, uploadForm, type Harness } from "./harness.ts";

/**
 * Every field an accepting endpoint's zod schema allows is either honoured
 * (sent alone, it shows in the stored resource or in the effective desired
 * state the backends run) or refused with a 422 naming it. The field list
 * comes from the schemas themselves: a field added to a schema without a
 * rule here fails "every schema field has a rule".
 */

/** Leaf field paths of a zod (v4) schema: `a.b`, arrays of objects as `a[].b`. */
export function fieldPaths(schema: z.ZodType, prefix = ""): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "readonly":
      return fieldPaths(def.innerType as z.ZodType, prefix);
    case "object": {
      const shape = def.shape as Record<string, z.ZodType>;
      return Object.entries(shape).flatMap(([k, v]) => fieldPaths(v, prefix ? `${prefix}.${k}` : k));
    }
    case "array": {
      const inner = unwrap(def.element as z.ZodType);
      return inner === "object" ? fieldPaths(def.element as z.ZodType, `${prefix}[]`) : [prefix];
    }
    default:
      return [prefix];
  }
}

function unwrap(schema: z.ZodType): string {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  return ["optional", "nullable", "default", "readonly"].includes(def.type) ? unwrap(def.innerType as z.ZodType) : def.type;
}

/** True when `body` carries a value at `path` (so a rule really sends its field). */
function carries(body: unknown, path: string): boolean {
  const [head, ...rest] = path.split(".");
  const arr = head!.endsWith("[]");
  const key = arr ? head!.slice(0, -2) : head!;
  if (body === null || typeof body !== "object" || !(key in body)) return false;
  const v = (body as Record<string, unknown>)[key];
  if (rest.length === 0) return v !== undefined;
  if (arr) return Array.isArray(v) && v.some((x) => carries(x, rest.join(".")));
  return carries(v, rest.join("."));
}

/** A request body, or a function building it when the rule runs (manifest rules name a fresh app each). */
type Body = Record<string, unknown> | (() => Record<string, unknown>);
type Honoured = { body: Body; check: (res: Response, sent: Record<string, unknown>) => Promise<void> | void };
type Refused = { body: Body; refused: string };
/** A field only the client acts on (the cf CLI reads it; CF's server ignores it too): named here, with the reason. */
type ClientOnly = { body: Body; clientOnly: string };
type Rule = Honoured | Refused | ClientOnly;

interface Endpoint {
  schema: z.ZodType;
  /** Sends the body (merged over the endpoint's required fields). */
  send(body: Record<string, unknown>): Promise<Response>;
  rules: Record<string, Rule | Rule[]>;
}

let h: Harness;
let app: { guid: string };
let web: { guid: string };
let worker: { guid: string };
let olderDroplet: string;
let domainGuid: string;
let dockerApp: string;
let otherApp: string;
let org: string;
const desiredTasks: Task[] = [];
let n = 0;
const uniq = (p: string) => `${p}${++n}`;

async function stage(appGuid: string): Promise<string> {
  const pkg = await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: appGuid } } } }, 201);
  expect((await h.req("POST", `/v3/packages/${pkg.guid}/upload`, { raw: uploadForm([], makeZip({ "server.js": { data: "x" } })) })).status).toBe(200);
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  return await waitFor(async () => {
    const b = await h.json("GET", `/v3/builds/${build.guid}`);
    return b.state === "STAGED" ? (b.droplet.guid as string) : null;
  }, { what: "build STAGED" });
}

const lrp = (type = "web"): LRP => h.cc.desiredLRPs().find((l) => l.app_guid === app.guid && l.process_type === type)!;
const getJson = (path: string) => h.json("GET", path);
const ok = (status = 200) => (res: Response) => void expect(res.status).toBe(status);
const labels = { labels: { tier: "gold" } };
const annotations = { annotations: { note: "kept" } };

beforeAll(async () => {
  h = await makeHarness();
  const space = h.spaceGuid();
  const applied = await h.req("POST", `/v3/spaces/${space}/actions/apply_manifest`, { raw: "applications:\n- name: cover\n  default-route: true\n", headers: { "content-type": "application/x-yaml" } });
  expect(applied.status).toBe(202);
  app = (await getJson(`/v3/apps?names=cover&space_guids=${space}`)).resources[0];
  olderDroplet = await stage(app.guid);
  const current = await stage(app.guid);
  await h.json("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: current } });
  await h.json("POST", `/v3/apps/${app.guid}/actions/start`);
  web = await getJson(`/v3/apps/${app.guid}/processes/web`);
  worker = await getJson(`/v3/apps/${app.guid}/processes/worker`);
  domainGuid = (await getJson("/v3/domains")).resources[0].guid;
  otherApp = (await h.json("POST", "/v3/apps", { name: "cover-other", relationships: { space: { data: { guid: space } } } }, 201)).guid;
  org = (await getJson("/v3/organizations")).resources[0].guid;
  dockerApp = (await h.json("POST", "/v3/apps", { name: "cover-docker", relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } }, 201)).guid;
  const desire = h.opi.desireTask.bind(h.opi);
  h.opi.desireTask = async (t: Task) => {
    desiredTasks.push(t);
    await desire(t);
  };
});
afterAll(async () => {
  // Builds still staging finish (or fail) against the database: let them settle before it closes.
  await waitFor(() => !h.store.db.query("SELECT 1 FROM cc_builds WHERE state = 'STAGING'").get(), { what: "builds settled" });
  h.close();
  cleanupTempDirs();
});

const send = (method: string, path: () => string) => (body: Record<string, unknown>) => h.req(method, path(), { body });
const lastTask = () => desiredTasks.at(-1)!;
const routeOf = async (res: Response) => (await res.json()) as { guid: string; host: string; path: string; options: Record<string, string>; metadata: Record<string, Record<string, string>>; relationships: Record<string, { data: { guid: string } }> };
/** A route of the test app (mapped), for option and destination rules. */
async function mappedRoute(): Promise<string> {
  const route = await h.json("POST", "/v3/routes", { host: uniq("mapped"), relationships: { space: { data: { guid: h.spaceGuid() } }, domain: { data: { guid: domainGuid } } } }, 201);
  await h.json("POST", `/v3/routes/${route.guid}/destinations`, { destinations: [{ app: { guid: app.guid } }] });
  return route.guid as string;
}
const lrpEntry = (host: string, type = "web") => lrp(type).routes["cf-router"]!.find((r) => r.hostname.startsWith(`${host}.`));


type QuotaJson = { guid: string; name: string; apps: Record<string, number | null>; services: Record<string, number | boolean | null>; routes: Record<string, number | null>; domains?: { total_domains: number | null }; relationships: { organizations: { data: { guid: string }[] }; organization?: { data: { guid: string } }; spaces?: { data: { guid: string }[] } } };
/** The quota a create or update answered with, read back from its GET. */
const quotaJson = async (res: Response, kind = "organization_quotas") => (await getJson(`/v3/${kind}/${((await res.json()) as { guid: string }).guid}`)) as QuotaJson;
const roleJson = async (res: Response) => (await res.json()) as { guid: string; type: string; relationships: Record<"user" | "organization" | "space", { data: { guid: string } | null }> };
let lastSegment = "";
let lastSegmentOrg = "";
let lastSegmentSpace = "";

/** Replaces the fresh-entity placeholders with a new org, a new space of the fixture org, or a new user, made for this one request. */
async function fresh(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  let text = JSON.stringify(body);
  if (text.includes('"<fresh-org>"')) text = text.replaceAll('"<fresh-org>"', JSON.stringify((await h.json("POST", "/v3/organizations", { name: uniq("fresh-org") }, 201)).guid));
  if (text.includes('"<fresh-space>"')) text = text.replaceAll('"<fresh-space>"', JSON.stringify((await h.json("POST", "/v3/spaces", { name: uniq("fresh-space"), relationships: { organization: { data: { guid: org } } } }, 201)).guid));
  if (text.includes('"<fresh-user>"')) text = text.replaceAll('"<fresh-user>"', JSON.stringify((await h.store.users.create(uniq("role-user"), "pw", ["cloud_controller.read"])).guid));
  if (text.includes('"<fresh-username>"')) {
    const name = uniq("role-user");
    await h.store.users.create(name, "pw", ["cloud_controller.read"]);
    text = text.replaceAll('"<fresh-username>"', JSON.stringify(name));
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** A new org with a new isolation segment entitled to it. */
async function entitledSegment(): Promise<{ orgGuid: string; segment: string }> {
  const orgGuid = (await h.json("POST", "/v3/organizations", { name: uniq("seg-org") }, 201)).guid as string;
  const segment = (await h.json("POST", "/v3/isolation_segments", { name: uniq("seg") }, 201)).guid as string;
  await h.json("POST", `/v3/isolation_segments/${segment}/relationships/organizations`, { data: [{ guid: orgGuid }] });
  return { orgGuid, segment };
}

/** The app, service and route limits org and space quotas share: stored and shown (enforced by withinQuota where CF enforces them), or refused. */
const quotaLimitRules = (kind: "organization_quotas" | "space_quotas"): Record<string, Rule | Rule[]> => {
  const limitRule = (group: "apps" | "services" | "routes", field: string, value: number | boolean, enforced?: (quota: string) => Promise<void>): Rule => ({
    body: { [group]: { [field]: value } },
    check: async (res) => {
      const q = await quotaJson(res, kind);
      expect(q[group][field]).toBe(value);
      if (enforced) await enforced(q.guid);
    },
  });
  /**
   * Enforced too (the limits no cf CLI test drives): the space quota is put on the fixture space for one refused
   * change, then taken off again. The org quota's limit goes through the same check (withinQuota).
   */
  const onFixtureSpace = (attempt: () => Promise<Response>, refusal: string) =>
    kind === "space_quotas"
      ? async (quota: string) => {
        await h.json("POST", `/v3/space_quotas/${quota}/relationships/spaces`, { data: [{ guid: h.spaceGuid() }] });
        try {
          const res = await attempt();
          expect({ status: res.status, text: await res.text() }).toMatchObject({ status: 422, text: expect.stringContaining(refusal) });
        } finally {
          expect((await h.req("DELETE", `/v3/space_quotas/${quota}/relationships/spaces/${h.spaceGuid()}`)).status).toBe(204);
        }
      }
      : undefined;
  return {
    "apps.total_memory_in_mb": limitRule("apps", "total_memory_in_mb", 2048),
    "apps.per_process_memory_in_mb": limitRule("apps", "per_process_memory_in_mb", 512),
    "apps.total_instances": limitRule("apps", "total_instances", 7, onFixtureSpace(() => h.req("POST", `/v3/processes/${web.guid}/actions/scale`, { body: { instances: 8 } }), "space_app_instance_limit_exceeded")),
    "apps.per_app_tasks": limitRule("apps", "per_app_tasks", 0, onFixtureSpace(() => h.req("POST", `/v3/apps/${app.guid}/tasks`, { body: { command: "echo over" } }), "space_app_task_limit_exceeded")),
    "apps.log_rate_limit_in_bytes_per_second": [
      { body: { apps: { log_rate_limit_in_bytes_per_second: 1024 } }, refused: "apps.log_rate_limit_in_bytes_per_second" },
      { body: { apps: { log_rate_limit_in_bytes_per_second: null } }, check: async (res) => void expect((await quotaJson(res, kind)).apps.log_rate_limit_in_bytes_per_second).toBeNull() },
    ],
    "services.paid_services_allowed": limitRule("services", "paid_services_allowed", false),
    "services.total_service_instances": limitRule("services", "total_service_instances", 5),
    "services.total_service_keys": [
      { body: { services: { total_service_keys: 4 } }, refused: "services.total_service_keys" },
      { body: { services: { total_service_keys: null } }, check: async (res) => void expect((await quotaJson(res, kind)).services.total_service_keys).toBeNull() },
    ],
    "routes.total_routes": limitRule("routes", "total_routes", 9),
    "routes.total_reserved_ports": limitRule("routes", "total_reserved_ports", 2),
  };
};
/** An org quota's private-domain limit: shown, and a further private domain of an org on it is refused. */
const domainLimitRules: Record<string, Rule> = {
  "domains.total_domains": {
    body: { domains: { total_domains: 1 } },
    check: async (res) => {
      const q = await quotaJson(res);
      expect(q.domains?.total_domains).toBe(1);
      const o = (await h.json("POST", "/v3/organizations", { name: uniq("dom-org") }, 201)).guid;
      await h.json("POST", `/v3/organization_quotas/${q.guid}/relationships/organizations`, { data: [{ guid: o }] });
      const domain = (name: string) => h.req("POST", "/v3/domains", { body: { name, relationships: { organization: { data: { guid: o } } } } });
      expect((await domain(`${uniq("first")}.example.test`)).status).toBe(201);
      const second = await domain(`${uniq("second")}.example.test`);
      expect({ status: second.status, text: await second.text() }).toMatchObject({ status: 422, text: expect.stringContaining("private domains exceeds the quota") });
    },
  },
};

let patchedRoute = "";
let destRoute = "";

const endpoints: Record<string, Endpoint> = {
  "POST /v3/processes/:guid/actions/scale": {
    schema: processSchemas.Scale,
    send: send("POST", () => `/v3/processes/${web.guid}/actions/scale`),
    rules: {
      instances: { body: { instances: 3 }, check: () => void expect(lrp().instances).toBe(3) },
      memory_in_mb: { body: { memory_in_mb: 300 }, check: () => void expect(lrp().memory_mb).toBe(300) },
      disk_in_mb: { body: { disk_in_mb: 700 }, check: () => void expect(lrp().disk_mb).toBe(700) },
      log_rate_limit_in_bytes_per_second: [
        {
          body: { log_rate_limit_in_bytes_per_second: 2048 },
          check: async () => {
            expect(lrp().log_rate_limit_bytes_per_second).toBe(2048);
            expect((await getJson(`/v3/processes/${web.guid}`)).log_rate_limit_in_bytes_per_second).toBe(2048);
          },
        },
        { body: { log_rate_limit_in_bytes_per_second: -2 }, refused: "log_rate_limit_in_bytes_per_second" },
      ],
    },
  },
  "PATCH /v3/processes/:guid": {
    schema: processSchemas.UpdateProcess,
    send: send("PATCH", () => `/v3/processes/${web.guid}`),
    rules: {
      command: { body: { command: "node other.js" }, check: () => void expect(lrp().lifecycle).toMatchObject({ buildpack_lifecycle: { start_command: "node other.js" } }) },
      "health_check.type": { body: { health_check: { type: "process" } }, check: () => void expect(lrp().health_check_type).toBe("process") },
      "health_check.data.timeout": { body: { health_check: { data: { timeout: 77 } } }, check: () => void expect(lrp().start_timeout_ms).toBe(77_000) },
      "health_check.data.invocation_timeout": { body: { health_check: { data: { invocation_timeout: 5 } } }, check: () => void expect(lrp().health_check_timeout_ms).toBe(5000) },
      "health_check.data.interval": { body: { health_check: { data: { interval: 9 } } }, check: () => void expect(lrp().health_check_interval_ms).toBe(9000) },
      "health_check.data.endpoint": { body: { health_check: { type: "http", data: { endpoint: "/health" } } }, check: () => void expect(lrp().health_check_http_endpoint).toBe("/health") },
      "readiness_health_check.type": { body: { readiness_health_check: { type: "port" } }, check: () => void expect(lrp().readiness_health_check?.type).toBe("port") },
      "readiness_health_check.data.invocation_timeout": { body: { readiness_health_check: { data: { invocation_timeout: 4 } } }, check: () => void expect(lrp().readiness_health_check?.timeout_ms).toBe(4000) },
      "readiness_health_check.data.interval": { body: { readiness_health_check: { data: { interval: 6 } } }, check: () => void expect(lrp().readiness_health_check?.interval_ms).toBe(6000) },
      "readiness_health_check.data.endpoint": {
        body: { readiness_health_check: { type: "http", data: { endpoint: "/ready" } } },
        check: async () => {
          expect(lrp().readiness_health_check).toMatchObject({ type: "http", http_endpoint: "/ready" });
          expect((await getJson(`/v3/processes/${web.guid}`)).readiness_health_check).toMatchObject({ type: "http", data: { endpoint: "/ready" } });
        },
      },
      "metadata.labels": { body: { metadata: labels }, check: async () => void expect((await getJson(`/v3/processes/${web.guid}`)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async () => void expect((await getJson(`/v3/processes/${web.guid}`)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "POST /v3/apps/:guid/tasks": {
    schema: taskSchemas.CreateTask,
    send: send("POST", () => `/v3/apps/${app.guid}/tasks`),
    rules: {
      command: { body: { command: "echo hi" }, check: () => void expect(lastTask().command).toBe("echo hi") },
      name: { body: { name: "migrate" }, check: () => void expect(lastTask().name).toBe("migrate") },
      memory_in_mb: { body: { memory_in_mb: 64 }, check: () => void expect(lastTask().memory_mb).toBe(64) },
      disk_in_mb: { body: { disk_in_mb: 128 }, check: () => void expect(lastTask().disk_mb).toBe(128) },
      log_rate_limit_in_bytes_per_second: {
        body: { log_rate_limit_in_bytes_per_second: 512 },
        check: async (res) => {
          expect(lastTask().log_rate_limit_bytes_per_second).toBe(512);
          expect(((await res.json()) as { log_rate_limit_in_bytes_per_second: number }).log_rate_limit_in_bytes_per_second).toBe(512);
        },
      },
      droplet_guid: { body: { droplet_guid: "<older>" }, check: () => void expect(lastTask().lifecycle).toMatchObject({ buildpack_lifecycle: { droplet_guid: olderDroplet } }) },
      "template.process.guid": {
        body: { template: { process: { guid: "<worker>" } } },
        // The worker's command (from the droplet), memory and log rate limit, not the web process's.
        check: () => void expect(lastTask()).toMatchObject({ command: "node worker.js", memory_mb: 99, log_rate_limit_bytes_per_second: 4096 }),
      },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect(((await res.json()) as { metadata: { labels: object } }).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect(((await res.json()) as { metadata: { annotations: object } }).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "POST /v3/routes": {
    schema: routeSchemas.CreateRoute,
    send: (body) => h.req("POST", "/v3/routes", { body: { host: uniq("r"), relationships: { space: { data: { guid: h.spaceGuid() } }, domain: { data: { guid: domainGuid } } }, ...body } }),
    rules: {
      host: { body: { host: "cover-host" }, check: async (res) => void expect((await routeOf(res)).host).toBe("cover-host") },
      path: { body: { path: "/cover" }, check: async (res) => void expect((await routeOf(res)).path).toBe("/cover") },
      port: { body: { port: 61000 }, refused: "ports" },
      "relationships.space.data.guid": { body: { relationships: { space: { data: { guid: "<space>" } }, domain: { data: { guid: "<domain>" } } } }, check: async (res) => void expect((await routeOf(res)).relationships.space!.data.guid).toBe(h.spaceGuid()) },
      "relationships.domain.data.guid": { body: { relationships: { space: { data: { guid: "<space>" } }, domain: { data: { guid: "<domain>" } } } }, check: async (res) => void expect((await routeOf(res)).relationships.domain!.data.guid).toBe(domainGuid) },
      "options.loadbalancing": [
        { body: { options: { loadbalancing: "least-connection" } }, check: async (res) => void expect((await routeOf(res)).options).toEqual({ loadbalancing: "least-connection" }) },
        { body: { options: { loadbalancing: "random" } }, refused: "loadbalancing" },
      ],
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await routeOf(res)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await routeOf(res)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "PATCH /v3/routes/:guid": {
    schema: routeSchemas.UpdateRoute,
    send: async (body) => {
      patchedRoute ||= await mappedRoute();
      return h.req("PATCH", `/v3/routes/${patchedRoute}`, { body });
    },
    rules: {
      // Carried into the LRP's route entries, so the router gets it.
      "options.loadbalancing": {
        body: { options: { loadbalancing: "least-connection" } },
        check: async (res) => {
          const route = await routeOf(res);
          expect(route.options).toEqual({ loadbalancing: "least-connection" });
          expect(lrpEntry(route.host)?.options).toEqual({ loadbalancing: "least-connection" });
        },
      },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await routeOf(res)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await routeOf(res)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "POST /v3/routes/:guid/destinations": {
    schema: routeSchemas.Destinations,
    send: async (body) => {
      destRoute = (await h.json("POST", "/v3/routes", { host: uniq("dest"), relationships: { space: { data: { guid: h.spaceGuid() } }, domain: { data: { guid: domainGuid } } } }, 201)).guid;
      return h.req("POST", `/v3/routes/${destRoute}/destinations`, { body });
    },
    rules: {
      "destinations[].app.guid": { body: { destinations: [{ app: { guid: "<app>" } }] }, check: async () => void expect((await getJson(`/v3/routes/${destRoute}/destinations`)).destinations[0].app.guid).toBe(app.guid) },
      "destinations[].app.process.type": {
        body: { destinations: [{ app: { guid: "<app>", process: { type: "worker" } } }] },
        check: async () => {
          const host = (await getJson(`/v3/routes/${destRoute}`)).host as string;
          expect(lrpEntry(host, "worker")).toBeDefined();
        },
      },
      "destinations[].port": [
        { body: { destinations: [{ app: { guid: "<app>" }, port: 8080 }] }, check: async () => void expect((await getJson(`/v3/routes/${destRoute}/destinations`)).destinations[0].port).toBe(8080) },
        { body: { destinations: [{ app: { guid: "<app>" }, port: 9000 }] }, refused: "port" },
      ],
      "destinations[].protocol": [
        { body: { destinations: [{ app: { guid: "<app>" }, protocol: "http1" }] }, check: async () => void expect((await getJson(`/v3/routes/${destRoute}/destinations`)).destinations[0].protocol).toBe("http1") },
        { body: { destinations: [{ app: { guid: "<app>" }, protocol: "http2" }] }, refused: "protocol" },
      ],
      // null (no weight: an even share) is the only value the schema takes.
      "destinations[].weight": { body: { destinations: [{ app: { guid: "<app>" }, weight: null }] }, check: async () => void expect((await getJson(`/v3/routes/${destRoute}/destinations`)).destinations[0].weight).toBeNull() },
    },
  },
};

/** Manifest process fields, checked on the V3 process they land on (app level: web; under processes[]: worker). */
const processFieldRules: Record<string, { set: Record<string, unknown>; expect: Record<string, unknown> }> = {
  command: { set: { command: "run.sh" }, expect: { command: "run.sh" } },
  instances: { set: { instances: 2 }, expect: { instances: 2 } },
  memory: { set: { memory: "300M" }, expect: { memory_in_mb: 300 } },
  disk_quota: { set: { disk_quota: "2G" }, expect: { disk_in_mb: 2048 } },
  "disk-quota": { set: { "disk-quota": "1G" }, expect: { disk_in_mb: 1024 } },
  "health-check-type": { set: { "health-check-type": "process" }, expect: { health_check: { type: "process" } } },
  "health-check-http-endpoint": { set: { "health-check-type": "http", "health-check-http-endpoint": "/h" }, expect: { health_check: { type: "http", data: { endpoint: "/h" } } } },
  "health-check-invocation-timeout": { set: { "health-check-invocation-timeout": 7 }, expect: { health_check: { data: { invocation_timeout: 7 } } } },
  "health-check-interval": { set: { "health-check-interval": 8 }, expect: { health_check: { data: { interval: 8 } } } },
  timeout: { set: { timeout: 90 }, expect: { health_check: { data: { timeout: 90 } } } },
  "log-rate-limit-per-second": { set: { "log-rate-limit-per-second": "2K" }, expect: { log_rate_limit_in_bytes_per_second: 2048 } },
  "readiness-health-check-type": { set: { "readiness-health-check-type": "port" }, expect: { readiness_health_check: { type: "port" } } },
  "readiness-health-check-http-endpoint": { set: { "readiness-health-check-type": "http", "readiness-health-check-http-endpoint": "/r" }, expect: { readiness_health_check: { type: "http", data: { endpoint: "/r" } } } },
  "readiness-health-check-invocation-timeout": { set: { "readiness-health-check-invocation-timeout": 3 }, expect: { readiness_health_check: { data: { invocation_timeout: 3 } } } },
  "readiness-health-check-interval": { set: { "readiness-health-check-interval": 4 }, expect: { readiness_health_check: { data: { interval: 4 } } } },
};

let manifestApp = "";
async function applyManifest(body: Record<string, unknown>): Promise<Response> {
  return h.req("POST", `/v3/spaces/${h.spaceGuid()}/actions/apply_manifest`, { raw: toYaml(body), headers: { "content-type": "application/x-yaml" } });
}
const manifestAppJson = async () => (await getJson(`/v3/apps?names=${manifestApp}&space_guids=${h.spaceGuid()}`)).resources[0];
const manifestProcess = async (type: string) => getJson(`/v3/apps/${(await manifestAppJson()).guid}/processes/${type}`);
const manifestRoutes = async () => (await getJson(`/v3/apps/${(await manifestAppJson()).guid}/routes`)).resources as { url: string; options: Record<string, string> }[];
/** One manifest app with a fresh name; `app` fields merged in. */
const oneApp = (app: Record<string, unknown>) => {
  manifestApp = uniq("mf");
  return { applications: [{ name: manifestApp, ...app }] };
};

const manifestRules: Record<string, Rule | Rule[]> = {
  version: [
    { body: () => ({ version: 1, ...oneApp({}) }), check: async () => void expect(await manifestAppJson()).toBeDefined() },
    { body: { version: 2, applications: [{ name: "v2" }] }, refused: "version" },
  ],
  "applications[].name": { body: () => oneApp({}), check: async () => void expect((await manifestAppJson()).name).toBe(manifestApp) },
  "applications[].path": { body: () => oneApp({ path: "./app" }), clientOnly: "the cf CLI zips and uploads this directory; Cloud Controller ignores it, as CF's does" },
  "applications[].buildpack": { body: () => oneApp({ buildpack: "bp_one" }), check: async () => void expect((await manifestAppJson()).lifecycle.data.buildpacks).toEqual(["bp_one"]) },
  "applications[].buildpacks": { body: () => oneApp({ buildpacks: ["bp_a", "bp_b"] }), check: async () => void expect((await manifestAppJson()).lifecycle.data.buildpacks).toEqual(["bp_a", "bp_b"]) },
  "applications[].stack": { body: () => oneApp({ stack: "other-stack" }), check: async () => void expect((await manifestAppJson()).lifecycle.data.stack).toBe("other-stack") },
  "applications[].docker.image": { body: () => oneApp({ docker: { image: "example/app:1" } }), check: async () => void expect((await manifestAppJson()).lifecycle.type).toBe("docker") },
  "applications[].docker.username": { body: () => oneApp({ docker: { image: "example/app:1", username: "me" } }), refused: "docker username" },
  "applications[].env": { body: () => oneApp({ env: { GREETING: "hi" } }), check: async () => void expect((await getJson(`/v3/apps/${(await manifestAppJson()).guid}/environment_variables`)).var).toEqual({ GREETING: "hi" }) },
  "applications[].routes[].route": { body: () => oneApp({ routes: [{ route: "mf-route.apps.localhost" }] }), check: async () => void expect((await manifestRoutes()).map((r) => r.url)).toEqual(["mf-route.apps.localhost"]) },
  "applications[].routes[].protocol": [
    { body: () => oneApp({ routes: [{ route: "mf-h1.apps.localhost", protocol: "http1" }] }), check: async () => void expect((await manifestRoutes()).map((r) => r.url)).toEqual(["mf-h1.apps.localhost"]) },
    { body: () => oneApp({ routes: [{ route: "mf-h2.apps.localhost", protocol: "http2" }] }), refused: "protocol 'http2'" },
    { body: () => oneApp({ routes: [{ route: "mf-tcp.apps.localhost", protocol: "tcp" }] }), refused: "protocol 'tcp'" },
  ],
  "applications[].routes[].options.loadbalancing": [
    { body: () => oneApp({ routes: [{ route: "mf-lc.apps.localhost", options: { loadbalancing: "least-connection" } }] }), check: async () => void expect((await manifestRoutes())[0]!.options).toEqual({ loadbalancing: "least-connection" }) },
    { body: () => oneApp({ routes: [{ route: "mf-bad.apps.localhost", options: { loadbalancing: "fastest" } }] }), refused: "loadbalancing" },
  ],
  "applications[].no-route": { body: () => oneApp({ "no-route": true, "default-route": true }), check: async () => void expect(await manifestRoutes()).toEqual([]) },
  "applications[].random-route": { body: () => oneApp({ "random-route": true }), check: async () => void expect((await manifestRoutes())[0]!.url).toMatch(new RegExp(`^${manifestApp}-[a-f0-9]{8}\\.apps\\.localhost$`)) },
  "applications[].default-route": { body: () => oneApp({ "default-route": true }), check: async () => void expect((await manifestRoutes()).map((r) => r.url)).toEqual([`${manifestApp}.apps.localhost`]) },
  "applications[].processes[].type": { body: () => oneApp({ processes: [{ type: "clock" }] }), check: async () => void expect((await manifestProcess("clock")).type).toBe("clock") },
  "applications[].metadata.labels": { body: () => oneApp({ metadata: labels }), check: async () => void expect((await manifestAppJson()).metadata.labels).toMatchObject(labels.labels) },
  "applications[].metadata.annotations": { body: () => oneApp({ metadata: annotations }), check: async () => void expect((await manifestAppJson()).metadata.annotations).toMatchObject(annotations.annotations) },
  "applications[].services": { body: () => oneApp({ services: ["db"] }), refused: "services are not supported" },
  "applications[].sidecars": { body: () => oneApp({ sidecars: [{ name: "s", command: "x", process_types: ["web"] }] }), refused: "sidecars are not supported" },
};
for (const [field, r] of Object.entries(processFieldRules)) {
  manifestRules[`applications[].${field}`] = { body: () => oneApp(r.set), check: async () => void expect(await manifestProcess("web")).toMatchObject(r.expect) };
  manifestRules[`applications[].processes[].${field}`] = { body: () => oneApp({ processes: [{ type: "worker", ...r.set }] }), check: async () => void expect(await manifestProcess("worker")).toMatchObject(r.expect) };
}

const appJson = async (res: Response) => (await res.json()) as { guid: string; name: string; lifecycle: { type: string; data: { buildpacks?: string[]; stack?: string } }; metadata: Record<string, Record<string, string>> };
const newApp = async () => (await h.json("POST", "/v3/apps", { name: uniq("plain"), relationships: { space: { data: { guid: h.spaceGuid() } } } }, 201)).guid as string;
let lastApp = "";
let lastPackage = "";
/** A READY bits package of the test app, for build rules. */
async function readyPackage(): Promise<string> {
  const pkg = await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app.guid } } } }, 201);
  expect((await h.req("POST", `/v3/packages/${pkg.guid}/upload`, { raw: uploadForm([], makeZip({ "server.js": { data: "x" } })) })).status).toBe(200);
  return pkg.guid as string;
}

Object.assign(endpoints, {
  "POST /v3/apps": {
    schema: appSchemas.CreateApp,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/apps", { body: { name: uniq("app"), relationships: { space: { data: { guid: h.spaceGuid() } } }, ...body } }),
    rules: {
      name: { body: { name: "named-by-rule" }, check: async (res) => void expect((await appJson(res)).name).toBe("named-by-rule") },
      "relationships.space.data.guid": { body: { relationships: { space: { data: { guid: "<space>" } } } }, check: async (res) => void expect(((await res.json()) as { relationships: { space: { data: { guid: string } } } }).relationships.space.data.guid).toBe(h.spaceGuid()) },
      lifecycle: [
        { body: { lifecycle: { type: "buildpack", data: { buildpacks: ["bp_x"], stack: "stack_x" } } }, check: async (res) => void expect((await appJson(res)).lifecycle).toEqual({ type: "buildpack", data: { buildpacks: ["bp_x"], stack: "stack_x" } }) },
        { body: { lifecycle: { type: "docker", data: {} } }, check: async (res) => void expect((await appJson(res)).lifecycle.type).toBe("docker") },
      ],
      environment_variables: { body: { environment_variables: { FROM_CREATE: "yes" } }, check: async (res) => void expect((await getJson(`/v3/apps/${(await appJson(res)).guid}/environment_variables`)).var).toEqual({ FROM_CREATE: "yes" }) },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await appJson(res)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await appJson(res)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "PATCH /v3/apps/:guid": {
    schema: appSchemas.UpdateApp,
    send: async (body: Record<string, unknown>) => h.req("PATCH", `/v3/apps/${(lastApp = await newApp())}`, { body }),
    rules: {
      name: { body: { name: "renamed-by-rule" }, check: async () => void expect((await getJson(`/v3/apps/${lastApp}`)).name).toBe("renamed-by-rule") },
      lifecycle: { body: { lifecycle: { type: "buildpack", data: { buildpacks: ["bp_y"], stack: "stack_y" } } }, check: async () => void expect((await getJson(`/v3/apps/${lastApp}`)).lifecycle).toEqual({ type: "buildpack", data: { buildpacks: ["bp_y"], stack: "stack_y" } }) },
      "metadata.labels": { body: { metadata: labels }, check: async () => void expect((await getJson(`/v3/apps/${lastApp}`)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async () => void expect((await getJson(`/v3/apps/${lastApp}`)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "PATCH /v3/apps/:guid/environment_variables": {
    schema: appSchemas.EnvPatch,
    send: (body: Record<string, unknown>) => h.req("PATCH", `/v3/apps/${app.guid}/environment_variables`, { body }),
    rules: {
      // Reaches the running process's environment (the desired LRP).
      var: { body: { var: { PATCHED: "in-env" } }, check: () => void expect(lrp().environment.PATCHED).toBe("in-env") },
    },
  },
  "PATCH /v3/apps/:guid/relationships/current_droplet": {
    schema: appSchemas.DropletRel,
    send: (body: Record<string, unknown>) => h.req("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { body }),
    rules: {
      "data.guid": { body: { data: { guid: "<older>" } }, check: () => void expect(lrp().lifecycle).toMatchObject({ buildpack_lifecycle: { droplet_guid: olderDroplet } }) },
    },
  },
  "POST /v3/packages": {
    schema: packageSchemas.CreatePackage,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/packages", { body: { type: "bits", relationships: { app: { data: { guid: app.guid } } }, ...body } }),
    rules: {
      type: [
        { body: { type: "bits" }, check: async (res) => void expect(((await res.json()) as { type: string; state: string })).toMatchObject({ type: "bits", state: "AWAITING_UPLOAD" }) },
        { body: { type: "docker", relationships: { app: { data: { guid: "<docker-app>" } } }, data: { image: "example/app:2" } }, check: async (res) => void expect(((await res.json()) as { type: string; data: { image: string } })).toMatchObject({ type: "docker", data: { image: "example/app:2" } }) },
      ],
      "relationships.app.data.guid": { body: { relationships: { app: { data: { guid: "<app>" } } } }, check: async (res) => void expect(((await res.json()) as { relationships: { app: { data: { guid: string } } } }).relationships.app.data.guid).toBe(app.guid) },
      "data.image": { body: { type: "docker", relationships: { app: { data: { guid: "<docker-app>" } } }, data: { image: "example/app:3" } }, check: async (res) => void expect(((await res.json()) as { data: { image: string } }).data.image).toBe("example/app:3") },
      "data.username": { body: { type: "docker", relationships: { app: { data: { guid: "<docker-app>" } } }, data: { image: "example/app:3", username: "me" } }, refused: "data.username" },
      "data.password": { body: { type: "docker", relationships: { app: { data: { guid: "<docker-app>" } } }, data: { image: "example/app:3", password: "secret" } }, refused: "data.password" },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect(((await res.json()) as { metadata: { labels: object } }).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect(((await res.json()) as { metadata: { annotations: object } }).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "POST /v3/builds": {
    schema: buildSchemas.CreateBuild,
    send: async (body: Record<string, unknown>) => {
      lastPackage = await readyPackage();
      const withPackage = JSON.parse(JSON.stringify(body).replaceAll('"<new-package>"', JSON.stringify(lastPackage))) as Record<string, unknown>;
      return h.req("POST", "/v3/builds", { body: { package: { guid: lastPackage }, ...withPackage } });
    },
    rules: {
      "package.guid": { body: { package: { guid: "<new-package>" } }, check: async (res) => void expect(((await res.json()) as { package: { guid: string } }).package.guid).toBe(lastPackage) },
      "lifecycle.type": [
        { body: { lifecycle: { type: "buildpack" } }, check: async (res) => void expect(((await res.json()) as { lifecycle: { type: string } }).lifecycle.type).toBe("buildpack") },
        { body: { lifecycle: { type: "docker" } }, refused: "Lifecycle type 'docker'" },
      ],
      // What the stager is asked for.
      "lifecycle.data.buildpacks": { body: { lifecycle: { type: "buildpack", data: { buildpacks: ["bp_z"] } } }, check: () => void expect((h.stager.requests.at(-1)!.request.buildpacks ?? []).map((b) => b.name)).toEqual(["bp_z"]) },
      "lifecycle.data.stack": { body: { lifecycle: { type: "buildpack", data: { stack: "stack_z" } } }, check: () => void expect(h.stager.requests.at(-1)!.request.stack).toBe("stack_z") },
      staging_memory_in_mb: { body: { staging_memory_in_mb: 333 }, check: () => void expect(h.stager.requests.at(-1)!.request.memory_mb).toBe(333) },
      staging_disk_in_mb: { body: { staging_disk_in_mb: 444 }, check: () => void expect(h.stager.requests.at(-1)!.request.disk_mb).toBe(444) },
      staging_log_rate_limit_bytes_per_second: [
        { body: { staging_log_rate_limit_bytes_per_second: -1 }, check: async (res) => void expect(((await res.json()) as { staging_log_rate_limit_bytes_per_second: number }).staging_log_rate_limit_bytes_per_second).toBe(-1) },
        { body: { staging_log_rate_limit_bytes_per_second: 1024 }, refused: "staging_log_rate_limit_bytes_per_second" },
      ],
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect(((await res.json()) as { metadata: { labels: object } }).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect(((await res.json()) as { metadata: { annotations: object } }).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
} satisfies Record<string, Endpoint>);

const bpJson = async (res: Response) => (await res.json()) as { guid: string; name: string; stack: string | null; position: number; enabled: boolean; locked: boolean };
let lastBuildpack = "";
const domainJson = async (res: Response) => (await res.json()) as { name: string; internal: boolean; relationships: { organization: { data: { guid: string } | null } }; metadata: Record<string, Record<string, string>> };
const orgGuid = async () => (await getJson("/v3/organizations")).resources[0].guid as string;

Object.assign(endpoints, {
  "PATCH /v3/apps/:guid/features/:name": {
    schema: appFeatureSchemas.Patch,
    send: (body: Record<string, unknown>) => h.req("PATCH", `/v3/apps/${app.guid}/features/ssh`, { body }),
    rules: { enabled: { body: { enabled: false }, check: async () => void expect((await getJson(`/v3/apps/${app.guid}/features/ssh`)).enabled).toBe(false) } },
  },
  "POST /v3/buildpacks": {
    schema: buildpackSchemas.CreateBuildpack,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/buildpacks", { body: { name: uniq("bp"), ...body } }),
    rules: {
      name: { body: { name: "named_bp" }, check: async (res) => void expect((await bpJson(res)).name).toBe("named_bp") },
      stack: { body: { stack: "some-stack" }, check: async (res) => void expect((await bpJson(res)).stack).toBe("some-stack") },
      position: { body: { position: 1 }, check: async (res) => void expect((await bpJson(res)).position).toBe(1) },
      enabled: { body: { enabled: false }, check: async (res) => void expect((await bpJson(res)).enabled).toBe(false) },
      locked: { body: { locked: true }, check: async (res) => void expect((await bpJson(res)).locked).toBe(true) },
      "metadata.labels": { body: { metadata: labels }, refused: "buildpacks are not supported" },
      "metadata.annotations": { body: { metadata: annotations }, refused: "buildpacks are not supported" },
    },
  },
  "PATCH /v3/buildpacks/:guid": {
    schema: buildpackSchemas.UpdateBuildpack,
    send: async (body: Record<string, unknown>) => {
      lastBuildpack = (await h.json("POST", "/v3/buildpacks", { name: uniq("bp") }, 201)).guid;
      return h.req("PATCH", `/v3/buildpacks/${lastBuildpack}`, { body });
    },
    rules: {
      name: { body: { name: "renamed_bp" }, check: async () => void expect((await getJson(`/v3/buildpacks/${lastBuildpack}`)).name).toBe("renamed_bp") },
      stack: { body: { stack: "other-stack" }, check: async () => void expect((await getJson(`/v3/buildpacks/${lastBuildpack}`)).stack).toBe("other-stack") },
      position: { body: { position: 1 }, check: async () => void expect((await getJson(`/v3/buildpacks/${lastBuildpack}`)).position).toBe(1) },
      enabled: { body: { enabled: false }, check: async () => void expect((await getJson(`/v3/buildpacks/${lastBuildpack}`)).enabled).toBe(false) },
      locked: { body: { locked: true }, check: async () => void expect((await getJson(`/v3/buildpacks/${lastBuildpack}`)).locked).toBe(true) },
      "metadata.labels": { body: { metadata: labels }, refused: "buildpacks are not supported" },
      "metadata.annotations": { body: { metadata: annotations }, refused: "buildpacks are not supported" },
    },
  },
  "POST /v3/domains": {
    schema: domainSchemas.CreateDomain,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/domains", { body: { name: `${uniq("d")}.example.test`, ...body } }),
    rules: {
      name: { body: { name: "named.example.test" }, check: async (res) => void expect((await domainJson(res)).name).toBe("named.example.test") },
      internal: { body: { internal: true }, check: async (res) => void expect((await domainJson(res)).internal).toBe(true) },
      "router_group.guid": { body: { router_group: { guid: "tcp-group" } }, refused: "Router groups are not supported" },
      "relationships.organization.data.guid": { body: { relationships: { organization: { data: { guid: "<org>" } } } }, check: async (res) => void expect((await domainJson(res)).relationships.organization.data?.guid).toBe(await orgGuid()) },
      "relationships.shared_organizations.data[].guid": { body: { relationships: { organization: { data: { guid: "<org>" } } , shared_organizations: { data: [{ guid: "<org>" }] } } }, refused: "Sharing private domains" },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await domainJson(res)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await domainJson(res)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "PATCH /v3/environment_variable_groups/:name": {
    schema: envVarGroupSchemas.PatchGroup,
    send: (body: Record<string, unknown>) => h.req("PATCH", "/v3/environment_variable_groups/running", { body }),
    // The running group reaches every running process's environment.
    rules: { var: { body: { var: { FROM_GROUP: "grouped" } }, check: () => void expect(lrp().environment.FROM_GROUP).toBe("grouped") } },
  },
  "PATCH /v3/feature_flags/:name": {
    schema: featureFlagSchemas.PatchFlag,
    send: (body: Record<string, unknown>) => h.req("PATCH", "/v3/feature_flags/user_org_creation", { body }),
    rules: {
      enabled: { body: { enabled: true }, check: async () => void expect((await getJson("/v3/feature_flags/user_org_creation")).enabled).toBe(true) },
      custom_error_message: { body: { custom_error_message: "ask the admin" }, check: async () => void expect((await getJson("/v3/feature_flags/user_org_creation")).custom_error_message).toBe("ask the admin") },
    },
  },
  // Orgs and spaces: each case works on an org or space of its own, so renaming or suspending one leaves the fixtures alone.
  "POST /v3/organizations": {
    schema: orgSpaceSchemas.CreateOrg,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/organizations", { body: { name: uniq("org"), ...body } }),
    rules: {
      name: { body: () => ({ name: uniq("named-org") }), check: async (res) => void expect(((await res.json()) as { name: string }).name).toStartWith("named-org") },
      suspended: { body: { suspended: true }, refused: "Suspended organizations are not supported" },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await getJson(`/v3/organizations/${((await res.json()) as { guid: string }).guid}`)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await getJson(`/v3/organizations/${((await res.json()) as { guid: string }).guid}`)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "PATCH /v3/organizations/:guid": {
    schema: orgSpaceSchemas.UpdateOrg,
    send: async (body: Record<string, unknown>) => {
      const made = (await h.json("POST", "/v3/organizations", { name: uniq("patch-org") }, 201)) as { guid: string };
      return h.req("PATCH", `/v3/organizations/${made.guid}`, { body });
    },
    rules: {
      name: { body: () => ({ name: uniq("renamed-org") }), check: async (res) => void expect(((await res.json()) as { name: string }).name).toStartWith("renamed-org") },
      suspended: { body: { suspended: true }, refused: "Suspended organizations are not supported" },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect(((await res.json()) as { metadata: { labels: object } }).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect(((await res.json()) as { metadata: { annotations: object } }).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "POST /v3/spaces": {
    schema: orgSpaceSchemas.CreateSpace,
    send: async (body: Record<string, unknown>) => h.req("POST", "/v3/spaces", { body: { name: uniq("space"), relationships: { organization: { data: { guid: await orgGuid() } } }, ...body } }),
    rules: {
      name: { body: () => ({ name: uniq("named-space") }), check: async (res) => void expect(((await res.json()) as { name: string }).name).toStartWith("named-space") },
      "relationships.organization.data.guid": { body: { relationships: { organization: { data: { guid: "<org>" } } } }, check: async (res) => void expect(((await res.json()) as { relationships: { organization: { data: { guid: string } } } }).relationships.organization.data.guid).toBe(await orgGuid()) },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await getJson(`/v3/spaces/${((await res.json()) as { guid: string }).guid}`)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await getJson(`/v3/spaces/${((await res.json()) as { guid: string }).guid}`)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "PATCH /v3/spaces/:guid": {
    schema: orgSpaceSchemas.UpdateSpace,
    send: async (body: Record<string, unknown>) => {
      const made = (await h.json("POST", "/v3/spaces", { name: uniq("patch-space"), relationships: { organization: { data: { guid: await orgGuid() } } } }, 201)) as { guid: string };
      return h.req("PATCH", `/v3/spaces/${made.guid}`, { body });
    },
    rules: {
      name: { body: () => ({ name: uniq("renamed-space") }), check: async (res) => void expect(((await res.json()) as { name: string }).name).toStartWith("renamed-space") },
      "metadata.labels": { body: { metadata: labels }, check: async (res) => void expect((await getJson(`/v3/spaces/${((await res.json()) as { guid: string }).guid}`)).metadata.labels).toMatchObject(labels.labels) },
      "metadata.annotations": { body: { metadata: annotations }, check: async (res) => void expect((await getJson(`/v3/spaces/${((await res.json()) as { guid: string }).guid}`)).metadata.annotations).toMatchObject(annotations.annotations) },
    },
  },
  "POST /v3/resource_matches": {
    schema: packageSchemas.ResourceMatches,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/resource_matches", { body }),
    // The fixtures uploaded server.js = "x": that file is in the resource cache.
    rules: Object.fromEntries(
      ([
        ["resources[].checksum.value", { checksum: { value: sha1("x") }, size_in_bytes: 1, path: "a.js" }, { checksum: { value: sha1("y") }, size_in_bytes: 1, path: "a.js" }],
        ["resources[].sha1", { sha1: sha1("x"), size: 1, fn: "b.js" }, { sha1: sha1("y"), size: 1, fn: "b.js" }],
        ["resources[].size_in_bytes", { checksum: { value: sha1("x") }, size_in_bytes: 1, path: "c.js" }, { checksum: { value: sha1("x") }, size_in_bytes: 2, path: "c.js" }],
        ["resources[].size", { sha1: sha1("x"), size: 1, fn: "d.js" }, { sha1: sha1("x"), size: 2, fn: "d.js" }],
        ["resources[].path", { checksum: { value: sha1("x") }, size_in_bytes: 1, path: "e.js" }, null],
        ["resources[].fn", { sha1: sha1("x"), size: 1, fn: "f.js" }, null],
        ["resources[].mode", { checksum: { value: sha1("x") }, size_in_bytes: 1, path: "g.js", mode: "755" }, null],
      ] as const).map(([field, hit, miss]) => [field, {
        body: { resources: [hit] },
        // Matched as sent (the CLI then names it in the upload's resources list); the same with a wrong checksum or size is not.
        check: async (res: Response) => {
          expect(((await res.json()) as { resources: unknown[] }).resources).toEqual([hit]);
          if (miss) expect((await h.json("POST", "/v3/resource_matches", { resources: [miss] }, 201)).resources).toEqual([]);
        },
      }]),
    ),
  },
  "POST /v3/packages?source_guid=": {
    schema: packageCopySchemas.CopyPackage,
    send: async (body: Record<string, unknown>) => h.req("POST", `/v3/packages?source_guid=${await readyPackage()}`, { body }),
    rules: {
      "relationships.app.data.guid": { body: { relationships: { app: { data: { guid: "<other-app>" } } } }, check: async (res) => {
        const pkg = (await res.json()) as { state: string; relationships: { app: { data: { guid: string } } } };
        expect(pkg).toMatchObject({ state: "READY", relationships: { app: { data: { guid: otherApp } } } });
      } },
    },
  },
  // Quotas: each case makes a quota of its own (and a fresh org or space where it applies one), so no limit reaches the fixtures.
  "POST /v3/organization_quotas": {
    schema: quotaSchemas.CreateOrgQuota,
    send: async (body: Record<string, unknown>) => h.req("POST", "/v3/organization_quotas", { body: await fresh({ name: uniq("oq"), ...body }) }),
    rules: {
      name: { body: () => ({ name: uniq("named-oq") }), check: async (res) => void expect((await quotaJson(res)).name).toStartWith("named-oq") },
      ...quotaLimitRules("organization_quotas"),
      ...domainLimitRules,
      "relationships.organizations.data[].guid": {
        body: { relationships: { organizations: { data: [{ guid: "<fresh-org>" }] } } },
        check: async (res) => {
          const q = await quotaJson(res);
          expect(q.relationships.organizations.data).toHaveLength(1);
          expect((await getJson(`/v3/organization_quotas?organization_guids=${q.relationships.organizations.data[0]!.guid}`)).resources.map((x: { guid: string }) => x.guid)).toEqual([q.guid]);
        },
      },
    },
  },
  "PATCH /v3/organization_quotas/:guid": {
    schema: quotaSchemas.UpdateOrgQuota,
    send: async (body: Record<string, unknown>) => {
      const made = await h.json("POST", "/v3/organization_quotas", { name: uniq("patch-oq") }, 201);
      return h.req("PATCH", `/v3/organization_quotas/${made.guid}`, { body: await fresh(body) });
    },
    rules: {
      name: { body: () => ({ name: uniq("renamed-oq") }), check: async (res) => void expect((await quotaJson(res)).name).toStartWith("renamed-oq") },
      ...quotaLimitRules("organization_quotas"),
      ...domainLimitRules,
    },
  },
  "POST /v3/organization_quotas/:guid/relationships/organizations": {
    schema: quotaSchemas.Relate,
    send: async (body: Record<string, unknown>) => {
      const made = await h.json("POST", "/v3/organization_quotas", { name: uniq("rel-oq") }, 201);
      return h.req("POST", `/v3/organization_quotas/${made.guid}/relationships/organizations`, { body: await fresh(body) });
    },
    rules: {
      "data[].guid": {
        body: { data: [{ guid: "<fresh-org>" }] },
        check: async (res) => {
          const [{ guid }] = ((await res.json()) as { data: { guid: string }[] }).data as [{ guid: string }];
          expect((await getJson(`/v3/organization_quotas?organization_guids=${guid}`)).resources).toHaveLength(1);
          expect((await getJson(`/v3/organization_quotas?organization_guids=${guid}`)).resources[0].name).toStartWith("rel-oq");
        },
      },
    },
  },
  "POST /v3/space_quotas": {
    schema: quotaSchemas.CreateSpaceQuota,
    send: async (body: Record<string, unknown>) => h.req("POST", "/v3/space_quotas", { body: await fresh({ name: uniq("sq"), relationships: { organization: { data: { guid: org } } }, ...body }) }),
    rules: {
      name: { body: () => ({ name: uniq("named-sq") }), check: async (res) => void expect((await quotaJson(res, "space_quotas")).name).toStartWith("named-sq") },
      ...quotaLimitRules("space_quotas"),
      "relationships.organization.data.guid": { body: { relationships: { organization: { data: { guid: "<org>" } } } }, check: async (res) => void expect((await quotaJson(res, "space_quotas")).relationships.organization!.data.guid).toBe(org) },
      "relationships.spaces.data[].guid": [
        {
          body: { relationships: { organization: { data: { guid: "<org>" } }, spaces: { data: [{ guid: "<fresh-space>" }] } } },
          check: async (res) => {
            const q = await quotaJson(res, "space_quotas");
            expect(q.relationships.spaces!.data).toHaveLength(1);
            expect((await getJson(`/v3/space_quotas?space_guids=${q.relationships.spaces!.data[0]!.guid}`)).resources.map((x: { guid: string }) => x.guid)).toEqual([q.guid]);
          },
        },
        // A space of another organization is refused, not skipped.
        { body: { relationships: { organization: { data: { guid: "<fresh-org>" } }, spaces: { data: [{ guid: "<fresh-space>" }] } } }, refused: "does not belong to the organization" },
      ],
    },
  },
  "PATCH /v3/space_quotas/:guid": {
    schema: quotaSchemas.UpdateSpaceQuota,
    send: async (body: Record<string, unknown>) => {
      const made = await h.json("POST", "/v3/space_quotas", { name: uniq("patch-sq"), relationships: { organization: { data: { guid: org } } } }, 201);
      return h.req("PATCH", `/v3/space_quotas/${made.guid}`, { body });
    },
    rules: {
      name: { body: () => ({ name: uniq("renamed-sq") }), check: async (res) => void expect((await quotaJson(res, "space_quotas")).name).toStartWith("renamed-sq") },
      ...quotaLimitRules("space_quotas"),
    },
  },
  "POST /v3/space_quotas/:guid/relationships/spaces": {
    schema: quotaSchemas.Relate,
    send: async (body: Record<string, unknown>) => {
      const made = await h.json("POST", "/v3/space_quotas", { name: uniq("rel-sq"), relationships: { organization: { data: { guid: org } } } }, 201);
      return h.req("POST", `/v3/space_quotas/${made.guid}/relationships/spaces`, { body: await fresh(body) });
    },
    rules: {
      "data[].guid": {
        body: { data: [{ guid: "<fresh-space>" }] },
        check: async (res) => {
          const [{ guid }] = ((await res.json()) as { data: { guid: string }[] }).data as [{ guid: string }];
          expect((await getJson(`/v3/space_quotas?space_guids=${guid}`)).resources[0].name).toStartWith("rel-sq");
        },
      },
    },
  },
  "POST /v3/roles": {
    schema: roleSchemas.CreateRole,
    send: async (body: Record<string, unknown>) => {
      const sent = (await fresh(body)) as { relationships: { user: { data: { guid?: string } }; space?: unknown } };
      // A space role needs an org role first (CC's rule): the fresh user gets one in the fixture org.
      if (sent.relationships.space) await h.json("POST", "/v3/roles", { type: "organization_user", relationships: { user: sent.relationships.user, organization: { data: { guid: org } } } }, 201);
      return h.req("POST", "/v3/roles", { body: sent });
    },
    rules: {
      type: { body: { type: "organization_auditor", relationships: { user: { data: { guid: "<fresh-user>" } }, organization: { data: { guid: "<org>" } } } }, check: async (res) => void expect((await roleJson(res)).type).toBe("organization_auditor") },
      "relationships.user.data": [
        { body: { type: "organization_user", relationships: { user: { data: { guid: "<fresh-user>" } }, organization: { data: { guid: "<org>" } } } }, check: async (res) => void expect((await getJson(`/v3/users/${(await roleJson(res)).relationships.user.data!.guid}`)).username).toStartWith("role-user") },
        {
          body: { type: "organization_user", relationships: { user: { data: { username: "<fresh-username>", origin: "uaa" } }, organization: { data: { guid: "<org>" } } } },
          check: async (res) => {
            const role = await roleJson(res);
            expect((await getJson(`/v3/users/${role.relationships.user.data!.guid}`)).username).toStartWith("role-user");
          },
        },
        // Only the appliance's own UAA users exist: another origin names nobody.
        { body: { type: "organization_user", relationships: { user: { data: { username: "<fresh-username>", origin: "ldap" } }, organization: { data: { guid: "<org>" } } } }, refused: "origin 'ldap'" },
      ],
      "relationships.organization.data.guid": { body: { type: "organization_manager", relationships: { user: { data: { guid: "<fresh-user>" } }, organization: { data: { guid: "<org>" } } } }, check: async (res) => void expect((await roleJson(res)).relationships.organization.data?.guid).toBe(org) },
      "relationships.space.data.guid": {
        body: { type: "space_auditor", relationships: { user: { data: { guid: "<fresh-user>" } }, space: { data: { guid: "<space>" } } } },
        check: async (res) => {
          const role = await roleJson(res);
          expect(role.relationships.space.data?.guid).toBe(h.spaceGuid());
          expect((await getJson(`/v3/roles/${role.guid}`)).type).toBe("space_auditor");
        },
      },
    },
  },
  "POST /v3/isolation_segments": {
    schema: isolationSchemas.Create,
    send: (body: Record<string, unknown>) => h.req("POST", "/v3/isolation_segments", { body: { name: uniq("seg"), ...body } }),
    rules: {
      name: { body: { name: "named-seg" }, check: async (res) => void expect((await getJson(`/v3/isolation_segments/${((await res.json()) as { guid: string }).guid}`)).name).toBe("named-seg") },
      metadata: [
        { body: { metadata: labels }, refused: "labels and annotations on isolation segments are not supported" },
        { body: { metadata: annotations }, refused: "labels and annotations on isolation segments are not supported" },
      ],
    },
  },
  "POST /v3/isolation_segments/:guid/relationships/organizations": {
    schema: isolationSchemas.ToMany,
    send: async (body: Record<string, unknown>) => {
      lastSegment = (await h.json("POST", "/v3/isolation_segments", { name: uniq("ent-seg") }, 201)).guid;
      return h.req("POST", `/v3/isolation_segments/${lastSegment}/relationships/organizations`, { body: await fresh(body) });
    },
    rules: {
      "data[].guid": {
        body: { data: [{ guid: "<fresh-org>" }] },
        check: async (res) => {
          const [{ guid }] = ((await res.json()) as { data: { guid: string }[] }).data as [{ guid: string }];
          expect((await getJson(`/v3/isolation_segments/${lastSegment}/organizations`)).resources.map((o: { guid: string }) => o.guid)).toEqual([guid]);
        },
      },
    },
  },
  "PATCH /v3/organizations/:guid/relationships/default_isolation_segment": {
    schema: isolationSchemas.ToOne,
    send: async (body: Record<string, unknown>) => {
      const { orgGuid: o, segment } = await entitledSegment();
      lastSegmentOrg = o;
      return h.req("PATCH", `/v3/organizations/${o}/relationships/default_isolation_segment`, { body: JSON.parse(JSON.stringify(body).replaceAll('"<segment>"', JSON.stringify(segment))) });
    },
    rules: {
      "data.guid": {
        body: { data: { guid: "<segment>" } },
        check: async (res) => void expect((await getJson(`/v3/organizations/${lastSegmentOrg}/relationships/default_isolation_segment`)).data.guid).toBe(((await res.json()) as { data: { guid: string } }).data.guid),
      },
    },
  },
  "PATCH /v3/spaces/:guid/relationships/isolation_segment": {
    schema: isolationSchemas.ToOne,
    send: async (body: Record<string, unknown>) => {
      const { orgGuid: o, segment } = await entitledSegment();
      lastSegmentSpace = (await h.json("POST", "/v3/spaces", { name: uniq("seg-space"), relationships: { organization: { data: { guid: o } } } }, 201)).guid;
      return h.req("PATCH", `/v3/spaces/${lastSegmentSpace}/relationships/isolation_segment`, { body: JSON.parse(JSON.stringify(body).replaceAll('"<segment>"', JSON.stringify(segment))) });
    },
    rules: {
      "data.guid": {
        body: { data: { guid: "<segment>" } },
        check: async (res) => void expect((await getJson(`/v3/spaces/${lastSegmentSpace}/relationships/isolation_segment`)).data.guid).toBe(((await res.json()) as { data: { guid: string } }).data.guid),
      },
    },
  },
} satisfies Record<string, Endpoint>);

endpoints["POST /v3/spaces/:guid/actions/apply_manifest"] = { schema: manifestSchemas.Manifest, send: applyManifest, rules: manifestRules };

/** Placeholders resolved once the fixtures exist. */
function resolve(b: Body): Record<string, unknown> {
  const text = JSON.stringify(typeof b === "function" ? b() : b)
    .replaceAll('"<older>"', JSON.stringify(olderDroplet))
    .replaceAll('"<worker>"', JSON.stringify(worker.guid))
    .replaceAll('"<app>"', JSON.stringify(app.guid))
    .replaceAll('"<space>"', JSON.stringify(h.spaceGuid()))
    .replaceAll('"<domain>"', JSON.stringify(domainGuid))
    .replaceAll('"<docker-app>"', JSON.stringify(dockerApp))
    .replaceAll('"<other-app>"', JSON.stringify(otherApp))
    .replaceAll('"<org>"', JSON.stringify(org));
  return JSON.parse(text) as Record<string, unknown>;
}

describe("every accepted input is honoured or refused", () => {
  test("every body schema the Cloud Controller reads is in this table", () => {
    // Each `readJson(c, Schema)` in src/cc names a schema; each must be one of the endpoints' schemas above.
    const dir = join(import.meta.dir, "../../src/cc");
    const read = new Set<string>();
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".ts"))) {
      for (const m of readFileSync(join(dir, f), "utf8").matchAll(/readJson\(c, (\w+)\)/g)) read.add(`${f}:${m[1]}`);
    }
    const covered = new Set(Object.values(endpoints).map((e) => e.schema));
    const exported: Record<string, Record<string, z.ZodType>> = {
      "processes.ts": processSchemas, "tasks.ts": taskSchemas, "routes.ts": routeSchemas, "apps.ts": appSchemas, "builds.ts": buildSchemas, "packages.ts": packageSchemas,
      "app-features.ts": appFeatureSchemas, "buildpacks.ts": buildpackSchemas, "domains.ts": domainSchemas, "env-var-groups.ts": envVarGroupSchemas,
      "feature-flags.ts": featureFlagSchemas, "orgs-spaces.ts": orgSpaceSchemas, "package-copy.ts": packageCopySchemas,
      "quotas.ts": quotaSchemas, "roles.ts": roleSchemas, "isolation.ts": isolationSchemas,
    };
    const missing = [...read].filter((k) => {
      const [file, name] = k.split(":") as [string, string];
      const schema = exported[file]?.[name];
      return !schema || !covered.has(schema);
    });
    expect(missing).toEqual([]);
  });

  test("every schema field has a rule, and every rule names a schema field", () => {
    for (const [name, e] of Object.entries(endpoints)) {
      const fields = fieldPaths(e.schema).sort();
      expect({ name, fields }).toEqual({ name, fields: Object.keys(e.rules).sort() });
    }
  });

  for (const [name, e] of Object.entries(endpoints)) {
    for (const [field, rules] of Object.entries(e.rules)) {
      for (const [i, rule] of (Array.isArray(rules) ? rules : [rules]).entries()) {
        const kind = "refused" in rule ? "refused" : "clientOnly" in rule ? "client-only" : "honoured";
        test(`${name} ${field} (${kind}${Array.isArray(rules) ? ` #${i + 1}` : ""})`, async () => {
          if (field === "template.process.guid") {
            await h.json("POST", `/v3/processes/${worker.guid}/actions/scale`, { memory_in_mb: 99, log_rate_limit_in_bytes_per_second: 4096 }, 202);
          }
          const body = resolve(rule.body);
          expect(carries(body, field)).toBe(true);
          const res = await e.send(body);
          if ("refused" in rule) {
            const text = await res.text();
            expect({ status: res.status, text }).toMatchObject({ status: 422, text: expect.stringContaining("CF-UnprocessableEntity") });
            expect(text).toContain(rule.refused);
            return;
          }
          expect({ status: res.status, text: res.status < 300 ? "" : await res.clone().text() }).toMatchObject({ status: expect.any(Number), text: "" });
          if ("clientOnly" in rule) return;
          await rule.check(res, body);
        });
      }
    }
  }
});
