import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RULES } from "../../src/cc/authz-rules.ts";
import { makeHarness, type Harness } from "./harness.ts";

/**
 * The role/permission matrix over every registered CC endpoint. The route
 * list comes from the hono app itself, so a new endpoint without a rule in
 * authz-rules.ts fails here. The expectations below are CF's "Permitted
 * roles", written out per kind of endpoint, independently of authz.ts.
 */
let h: Harness;

const ROLES = [
  "admin", "admin_read_only", "global_auditor", "org_manager", "org_auditor", "billing_manager", "org_user",
  "space_developer", "space_manager", "space_auditor", "space_supporter", "outsider",
] as const;
type Role = (typeof ROLES)[number];
const tokens = new Map<Role, string>();
const userGuids = new Map<Role, string>();

// Who may do what, by the kind of endpoint (CF V3 docs, "Permitted roles").
const SPACE_READERS: Role[] = ["admin", "admin_read_only", "global_auditor", "org_manager", "space_developer", "space_manager", "space_auditor", "space_supporter"];
const EXPECT: Record<string, Role[]> = {
  "space:read": SPACE_READERS,
  "space:write": ["admin", "space_developer"],
  "space:env": ["admin", "admin_read_only", "space_developer"],
  "space:lifecycle": ["admin", "space_developer", "space_supporter"],
  "space:manage": ["admin", "org_manager", "space_manager"],
  "org:read": ["admin", "admin_read_only", "global_auditor", "org_manager", "org_auditor", "billing_manager", "org_user", "space_developer", "space_manager", "space_auditor", "space_supporter"],
  "org:manage": ["admin", "org_manager"],
  "org:admin": ["admin"],
  "global:admin": ["admin"],
  "global:read": ["admin", "admin_read_only", "global_auditor"],
  any: [...ROLES],
  "body:app": ["admin", "space_developer"], "body:route": ["admin", "space_developer"], "body:package": ["admin", "space_developer"], "body:build": ["admin", "space_developer"],
  "body:space": ["admin", "org_manager"], "body:space_quota": ["admin", "org_manager"], "body:org": ["admin"], "body:role": ["admin", "org_manager"], "body:domain": ["admin", "org_manager"],
  "custom:role:GET": SPACE_READERS, "custom:role:DELETE": ["admin", "org_manager", "space_manager"],
  "custom:audit_event": SPACE_READERS, "custom:log_source": SPACE_READERS, "custom:domain_delete": ["admin"],
  "custom:user": [...ROLES.filter((r) => r !== "outsider")],
};

interface World { spaceQuota: string; user: string; org: string; space: string; app: string; process: string; pkg: string; build: string; droplet: string; route: string; dest: string; task: string; role: string; event: string; domain: string }
let world: World;
let otherOrg: string;
let sharedDomain: string;

async function startedApp(space: string, name: string) {
  const app = await h.json("POST", "/v3/apps", { name, relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } }, 201);
  const pkg = await h.json("POST", "/v3/packages", { type: "docker", data: { image: "example/app:1" }, relationships: { app: { data: { guid: app.guid } } } }, 201);
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  const droplet = (await h.json("GET", `/v3/builds/${build.guid}`)).droplet.guid as string;
  await h.json("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
  await h.json("POST", `/v3/apps/${app.guid}/actions/start`);
  return { app: app.guid as string, pkg: pkg.guid as string, build: build.guid as string, droplet };
}

/** A space in `org` holding one started app, a route to it, a task and a role: every kind of resource a path can name. */
async function makeWorld(org: string, name: string, grant?: Role): Promise<World> {
  const space = (await h.json("POST", "/v3/spaces", { name, relationships: { organization: { data: { guid: org } } } }, 201)).guid as string;
  if (grant) await grantRole(grant, org, space);
  const a = await startedApp(space, `${name}-app`);
  const process = (await h.json("GET", `/v3/apps/${a.app}/processes/web`)).guid as string;
  const route = await h.json("POST", "/v3/routes", { host: `${name}-r`, relationships: { space: { data: { guid: space } }, domain: { data: { guid: sharedDomain } } } }, 201);
  const dests = await h.json("POST", `/v3/routes/${route.guid}/destinations`, { destinations: [{ app: { guid: a.app } }] });
  const task = (await h.json("POST", `/v3/apps/${a.app}/tasks`, { command: "true" }, 202)).guid as string;
  // A role in the space for the role endpoints to name (bystander holds organization_user in the matrix org).
  await h.req("POST", "/v3/roles", { body: { type: "space_auditor", relationships: { user: { data: { guid: bystander } }, space: { data: { guid: space } } } } });
  const role = (await h.json("GET", `/v3/roles?space_guids=${space}`)).resources[0]?.guid as string;
  const event = (await h.json("GET", `/v3/audit_events?target_guids=${a.app}`)).resources[0].guid as string;
  const domain = (await h.json("POST", "/v3/domains", { name: `${name}.example.test`, relationships: { organization: { data: { guid: org } } } }, 201)).guid as string;
  // A user for the user endpoints to name: a throwaway one in a fresh world (DELETE /v3/users may take its roles away).
  const user = grant ? (await h.store.users.create(`t-${crypto.randomUUID().slice(0, 8)}`, "pw", ["cloud_controller.read"])).guid : userGuids.get("space_developer")!;
  const spaceQuota = (await h.json("POST", "/v3/space_quotas", { name: `q-${name}`, relationships: { organization: { data: { guid: org } }, spaces: { data: [{ guid: space }] } } }, 201)).guid as string;
  return { spaceQuota, user, org, space, ...a, process, route: route.guid, dest: dests.destinations[0].guid, task, role, event, domain };
}

const SPACE_ROLE: Partial<Record<Role, string>> = { space_developer: "space_developer", space_manager: "space_manager", space_auditor: "space_auditor", space_supporter: "space_supporter" };
const ORG_ROLE: Partial<Record<Role, string>> = { org_manager: "organization_manager", org_auditor: "organization_auditor", billing_manager: "organization_billing_manager", org_user: "organization_user" };

async function grantRole(role: Role, org: string, space: string) {
  const user = userGuids.get(role)!;
  const post = (type: string, rel: Record<string, unknown>) => h.req("POST", "/v3/roles", { body: { type, relationships: { user: { data: { guid: user } }, ...rel } } });
  if (ORG_ROLE[role]) await post(ORG_ROLE[role]!, { organization: { data: { guid: org } } });
  if (SPACE_ROLE[role]) {
    await post("organization_user", { organization: { data: { guid: org } } });
    await post(SPACE_ROLE[role]!, { space: { data: { guid: space } } });
  }
}

function paramsFor(path: string, w: World): string {
  const seg = path.split("/");
  return seg
    .map((s, i) => {
      if (!s.startsWith(":")) return s;
      const parent = seg[i - 1];
      if (s === ":type") return "web";
      if (s === ":index") return "0";
      if (s === ":dest") return w.dest;
      if (s === ":space_guid") return w.space;
      if (s === ":org_guid") return w.org;
      if (s === ":source_id") return w.app;
      if (s === ":name") return parent === "feature_flags" ? "diego_docker" : parent === "environment_variable_groups" ? "running" : "ssh";
      const byParent: Record<string, string> = {
        apps: w.app, processes: w.process, packages: w.pkg, builds: w.build, droplets: w.droplet, routes: w.route, tasks: w.task, spaces: w.space,
        organizations: w.org, roles: w.role, audit_events: w.event, domains: w.domain, users: w.user,
        buildpacks: "no-such-buildpack", stacks: "no-such-stack", jobs: "no-such-job", app_usage_events: usageEvent,
        organization_quotas: orgQuota, space_quotas: w.spaceQuota, isolation_segments: segment,
      };
      return byParent[parent!] ?? "unknown";
    })
    .join("/");
}

function bodyFor(key: string, w: World): unknown {
  const rel = (k: string, guid: string) => ({ [k]: { data: { guid } } });
  switch (key) {
    case "POST /v3/apps": return { name: `new-${crypto.randomUUID().slice(0, 8)}`, relationships: rel("space", w.space) };
    case "POST /v3/routes": return { host: `h${crypto.randomUUID().slice(0, 8)}`, relationships: { ...rel("space", w.space), ...rel("domain", sharedDomain) } };
    case "POST /v3/packages": return { type: "docker", data: { image: "example/app:2" }, relationships: rel("app", w.app) };
    case "POST /v3/builds": return { package: { guid: w.pkg } };
    case "POST /v3/spaces": return { name: `s-${crypto.randomUUID().slice(0, 8)}`, relationships: rel("organization", w.org) };
    case "POST /v3/organizations": return { name: `o-${crypto.randomUUID().slice(0, 8)}` };
    case "POST /v3/roles": return { type: "organization_auditor", relationships: { user: { data: { guid: bystander } }, ...rel("organization", w.org) } };
    case "POST /v3/domains": return { name: `${crypto.randomUUID().slice(0, 8)}.example.test`, relationships: rel("organization", w.org) };
    case "POST /v3/users": return { guid: bystander };
    case "POST /v3/isolation_segments": return { name: `seg-${crypto.randomUUID().slice(0, 8)}` };
    case "POST /v3/isolation_segments/:guid/relationships/organizations": return { data: [{ guid: w.org }] };
    case "PATCH /v3/organizations/:guid/relationships/default_isolation_segment":
    case "PATCH /v3/spaces/:guid/relationships/isolation_segment": return { data: null };
    case "POST /v3/organization_quotas": return { name: `oq-${crypto.randomUUID().slice(0, 8)}` };
    case "POST /v3/space_quotas": return { name: `sq-${crypto.randomUUID().slice(0, 8)}`, relationships: rel("organization", w.org) };
    case "POST /v3/organization_quotas/:guid/relationships/organizations": return { data: [{ guid: otherOrg }] };
    case "POST /v3/space_quotas/:guid/relationships/spaces": return { data: [{ guid: w.space }] };
    default: return {};
  }
}

function expectationKey(key: string): string {
  const r = RULES[key]!;
  const method = key.split(" ")[0]!;
  switch (r.kind) {
    case "public": return "any";
    case "any": return "any";
    case "global": return `global:${r.level}`;
    case "space": return `space:${r.need}`;
    case "org": return `org:${r.need}`;
    case "body": return `body:${r.check}`;
    case "custom": return r.check === "role" ? `custom:role:${method}` : `custom:${r.check}`;
  }
}

let registered: string[] = [];
const HIDDEN = /^(App|Process|Package|Build|Droplet|Route|Task|Space|Organization|Role|Event|Domain|User|Space quota) not found$/;
let orgQuota = "";
let segment = "";
let usageEvent = "";
let bystander = "";

beforeAll(async () => {
  h = await makeHarness();
  h.token = (await h.login()).access_token;
  sharedDomain = (await h.json("GET", "/v3/domains")).resources[0].guid;
  const scopes: Partial<Record<Role, string[]>> = { admin: ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write"], admin_read_only: ["cloud_controller.admin_read_only"], global_auditor: ["cloud_controller.global_auditor"] };
  for (const role of ROLES) {
    const name = `u-${role}`;
    const u = await h.store.users.create(name, `pw-${role}`, scopes[role] ?? ["cloud_controller.read", "cloud_controller.write", "openid"]);
    userGuids.set(role, u.guid);
    tokens.set(role, (await h.login(name, `pw-${role}`)).access_token);
  }
  const org = (await h.json("POST", "/v3/organizations", { name: "matrix" }, 201)).guid as string;
  orgQuota = (await h.json("POST", "/v3/organization_quotas", { name: "unused" }, 201)).guid;
  segment = (await h.json("POST", "/v3/isolation_segments", { name: "matrix-seg" }, 201)).guid;
  bystander = (await h.store.users.create("bystander", "pw-bystander", ["cloud_controller.read"])).guid;
  await h.json("POST", "/v3/roles", { type: "organization_user", relationships: { user: { data: { guid: bystander } }, organization: { data: { guid: org } } } }, 201);
  otherOrg = (await h.json("POST", "/v3/organizations", { name: "elsewhere" }, 201)).guid as string;
  const otherSpace = (await h.json("POST", "/v3/spaces", { name: "b", relationships: { organization: { data: { guid: otherOrg } } } }, 201)).guid as string;
  const outsider = userGuids.get("outsider")!;
  await h.json("POST", "/v3/roles", { type: "organization_user", relationships: { user: { data: { guid: outsider } }, organization: { data: { guid: otherOrg } } } }, 201);
  await h.json("POST", "/v3/roles", { type: "space_developer", relationships: { user: { data: { guid: outsider } }, space: { data: { guid: otherSpace } } } }, 201);
  world = await makeWorld(org, "a");
  for (const role of ROLES.filter((r) => r !== "outsider")) await grantRole(role, org, world.space);
  usageEvent = (await h.json("GET", "/v3/app_usage_events")).resources[0].guid;
  await h.converge(); // running instances, so stats answer at once instead of waiting for them
  const seen = new Set<string>();
  for (const r of (h.cc.routes as unknown as { routes: { method: string; path: string }[] }).routes) {
    if (r.method === "ALL") continue;
    seen.add(`${r.method} ${r.path}`);
  }
  registered = [...seen];
}, 60_000);
afterAll(() => h.close());

describe("role matrix", () => {
  test("every registered endpoint has a rule, and every rule an endpoint", () => {
    const missing = registered.filter((k) => !(k in RULES));
    expect(missing).toEqual([]);
    expect(Object.keys(RULES).filter((k) => !registered.includes(k))).toEqual([]);
    expect(registered.length).toBeGreaterThan(100);
  });

  test("each role is allowed exactly what CF allows on every endpoint", async () => {
    const wrong: string[] = [];
    for (const key of registered) {
      const [method, path] = key.split(" ") as [string, string];
      if (RULES[key]?.kind === "public") continue;
      // A write needs a write scope, which the read-only global roles do not hold.
      const allowed = EXPECT[expectationKey(key)]!.filter((r) => method === "GET" || (r !== "admin_read_only" && r !== "global_auditor"));
      for (const role of ROLES) {
        const allow = allowed.includes(role);
        // A permitted DELETE runs against a fresh world (it removes what it names); a refused one changes nothing.
        let w = world;
        if (allow && method === "DELETE") {
          w = key === "DELETE /v3/organizations/:guid" ? { ...world, org: (await h.json("POST", "/v3/organizations", { name: `gone-${crypto.randomUUID().slice(0, 6)}` }, 201)).guid } : await makeWorld(world.org, `w${crypto.randomUUID().slice(0, 6)}`, role);
          if (key === "DELETE /v3/domains/:guid") w = { ...w, domain: (await h.json("POST", "/v3/domains", { name: `${crypto.randomUUID().slice(0, 8)}.shared.test` }, 201)).guid };
        } else if (key === "DELETE /v3/domains/:guid") {
          w = { ...w, domain: sharedDomain };
        }
        if (key.endsWith("/stats")) await h.converge(); // earlier writes restarted the app: its new version must be running for stats to answer at once
        if (key.startsWith("GET /v3/app_usage_events/")) usageEvent = (await h.json("GET", "/v3/app_usage_events")).resources[0].guid;
        const t0 = performance.now();
        const res = await h.req(method, paramsFor(path, w), { token: tokens.get(role)!, ...(method === "GET" || method === "DELETE" ? {} : { body: bodyFor(key, w) }) });
        const text = await res.text();
        if (process.env.MATRIX_SLOW && performance.now() - t0 > 200) console.log("slow", role, key, Math.round(performance.now() - t0));
        const detail = res.status >= 400 ? ((JSON.parse(text || "{}") as { errors?: { detail: string }[] }).errors?.[0]?.detail ?? "") : "";
        // Refused: 403, a 404 naming the resource the path points at, or a create's 422 "... you have access to it".
        const denied = res.status === 403 || (res.status === 404 && HIDDEN.test(detail)) || (res.status === 422 && /you have access to it/.test(detail));
        if (allow && denied) wrong.push(`${role} refused ${key}: ${res.status} ${detail}`);
        if (!allow && !denied) wrong.push(`${role} allowed ${key}: ${res.status} ${text.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
