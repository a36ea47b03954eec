import type { Database } from "bun:sqlite";
import type { OrgNeed, SpaceNeed } from "./authz.ts";

/**
 * The permission rule of every CC endpoint, keyed exactly as the route is
 * registered ("METHOD /path/:param"). test/cc/tenancy-role-matrix.test.ts
 * fails when a registered route has no rule here; at run time a request
 * matching no rule is for admins only (deny by default).
 *
 * Rule kinds:
 * - public: no token (root documents, UAA, log-cache info);
 * - any: every authenticated user; a list shows only what the caller may
 *   see (filtered in its SQL query, authz.ts scopes);
 * - global: "admin" (platform writes: buildpacks, flags, shared domains,
 *   quotas, segments...) or "read" (admin, admin_read_only, global_auditor);
 * - space/org: the resource named in the path lives in a space (org); the
 *   caller needs `need` there. A resource in a space the caller cannot read
 *   answers 404 as if absent, as CC does;
 * - body: a create naming its parent in the body (checked by authorize.ts).
 */
type Locate = (db: Database, params: Record<string, string>) => string | null | undefined;

export type Rule =
  | { kind: "public" }
  | { kind: "any" }
  | { kind: "global"; level: "admin" | "read" }
  | { kind: "space"; need: SpaceNeed; what: string; locate: Locate }
  | { kind: "org"; need: OrgNeed; what: string; locate: Locate }
  | { kind: "body"; check: BodyCheck }
  | { kind: "custom"; check: CustomCheck };

export type BodyCheck = "app" | "route" | "package" | "build" | "space" | "org" | "role" | "domain" | "space_quota";
export type CustomCheck = "role" | "audit_event" | "domain_delete" | "log_source" | "user";

const one = (db: Database, sql: string, guid: string | undefined): string | null => {
  const row = db.query(sql).get(guid ?? "") as { g: string } | null;
  return row?.g ?? null;
};

export const locate = {
  app: (db: Database, p: Record<string, string>) => one(db, "SELECT space_guid AS g FROM cc_apps WHERE guid = ?", p.guid),
  process: (db: Database, p: Record<string, string>) => one(db, "SELECT a.space_guid AS g FROM cc_processes x JOIN cc_apps a ON a.guid = x.app_guid WHERE x.guid = ?", p.guid),
  package: (db: Database, p: Record<string, string>) => one(db, "SELECT a.space_guid AS g FROM cc_packages x JOIN cc_apps a ON a.guid = x.app_guid WHERE x.guid = ?", p.guid),
  build: (db: Database, p: Record<string, string>) => one(db, "SELECT a.space_guid AS g FROM cc_builds x JOIN cc_apps a ON a.guid = x.app_guid WHERE x.guid = ?", p.guid),
  droplet: (db: Database, p: Record<string, string>) => one(db, "SELECT a.space_guid AS g FROM cc_droplets x JOIN cc_apps a ON a.guid = x.app_guid WHERE x.guid = ?", p.guid),
  task: (db: Database, p: Record<string, string>) => one(db, "SELECT a.space_guid AS g FROM cc_tasks x JOIN cc_apps a ON a.guid = x.app_guid WHERE x.guid = ?", p.guid),
  route: (db: Database, p: Record<string, string>) => one(db, "SELECT space_guid AS g FROM cc_routes WHERE guid = ?", p.guid),
  space: (db: Database, p: Record<string, string>) => one(db, "SELECT guid AS g FROM cc_spaces WHERE guid = ?", p.guid),
  org: (db: Database, p: Record<string, string>) => one(db, "SELECT guid AS g FROM cc_orgs WHERE guid = ?", p.guid),
  spaceOrg: (db: Database, p: Record<string, string>) => one(db, "SELECT org_guid AS g FROM cc_spaces WHERE guid = ?", p.guid),
  spaceQuota: (db: Database, p: Record<string, string>) => one(db, "SELECT org_guid AS g FROM cc_space_quotas WHERE guid = ?", p.guid),
};

const pub: Rule = { kind: "public" };
const any: Rule = { kind: "any" };
const admin: Rule = { kind: "global", level: "admin" };
const globalRead: Rule = { kind: "global", level: "read" };
const app = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "App", locate: locate.app });
const proc = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Process", locate: locate.process });
const pkg = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Package", locate: locate.package });
const build = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Build", locate: locate.build });
const droplet = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Droplet", locate: locate.droplet });
const task = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Task", locate: locate.task });
const route = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Route", locate: locate.route });
const space = (need: SpaceNeed): Rule => ({ kind: "space", need, what: "Space", locate: locate.space });
const org = (need: OrgNeed): Rule => ({ kind: "org", need, what: "Organization", locate: locate.org });
const spaceQuota = (need: OrgNeed): Rule => ({ kind: "org", need, what: "Space quota", locate: locate.spaceQuota });
const body = (check: BodyCheck): Rule => ({ kind: "body", check });
const custom = (check: CustomCheck): Rule => ({ kind: "custom", check });

export const RULES: Record<string, Rule> = {
  // Documents and UAA: no token.
  "GET /": pub, "GET /v3": pub, "GET /v3/info": pub, "GET /v2/info": pub, "GET /uaa/login": pub, "POST /uaa/oauth/token": pub, "POST /uaa/oauth/revoke": pub, "GET /api/v1/info": pub,

  // Platform resources: everyone reads, admins write.
  "GET /v3/domains": any, "GET /v3/domains/:guid": any, "POST /v3/domains": body("domain"), "DELETE /v3/domains/:guid": custom("domain_delete"),
  "GET /v3/domains/:guid/route_reservations": any,
  "GET /v3/feature_flags": any, "GET /v3/feature_flags/:name": any, "PATCH /v3/feature_flags/:name": admin,
  "GET /v3/environment_variable_groups/:name": any, "PATCH /v3/environment_variable_groups/:name": admin,
  "GET /v3/buildpacks": any, "GET /v3/buildpacks/:guid": any, "POST /v3/buildpacks": admin, "PATCH /v3/buildpacks/:guid": admin,
  "DELETE /v3/buildpacks/:guid": admin, "POST /v3/buildpacks/:guid/upload": admin,
  "GET /v3/stacks": any, "GET /v3/stacks/:guid": any,
  "GET /v3/organization_quotas": any, "GET /v3/organization_quotas/:guid": any, "POST /v3/organization_quotas": admin, "PATCH /v3/organization_quotas/:guid": admin,
  "DELETE /v3/organization_quotas/:guid": admin, "POST /v3/organization_quotas/:guid/relationships/organizations": admin,
  // Space quotas belong to an org: its managers manage them, its members read them.
  "GET /v3/space_quotas": any, "GET /v3/space_quotas/:guid": spaceQuota("read"), "POST /v3/space_quotas": body("space_quota"),
  "PATCH /v3/space_quotas/:guid": spaceQuota("manage"), "DELETE /v3/space_quotas/:guid": spaceQuota("manage"),
  "POST /v3/space_quotas/:guid/relationships/spaces": spaceQuota("manage"), "DELETE /v3/space_quotas/:guid/relationships/spaces/:space_guid": spaceQuota("manage"),
  "GET /v3/isolation_segments": any, "GET /v3/isolation_segments/:guid": any, "POST /v3/isolation_segments": admin, "DELETE /v3/isolation_segments/:guid": admin,
  "GET /v3/isolation_segments/:guid/organizations": any, "POST /v3/isolation_segments/:guid/relationships/organizations": admin,
  "DELETE /v3/isolation_segments/:guid/relationships/organizations/:org_guid": admin,
  "PATCH /v3/organizations/:guid/relationships/default_isolation_segment": org("manage"), "PATCH /v3/spaces/:guid/relationships/isolation_segment": space("manage"),
  "GET /v3/security_groups": any,
  "GET /v3/app_usage_events": globalRead, "GET /v3/app_usage_events/:guid": globalRead,
  "POST /v3/app_usage_events/actions/destructively_purge_all_and_reseed": admin,
  "GET /v3/service_instances": any, "GET /v3/service_offerings": any, "GET /v3/service_plans": any, "GET /v3/service_brokers": any,
  "GET /v3/service_credential_bindings": any, "GET /v3/service_route_bindings": any,
  "GET /v2/services": any, "GET /v2/service_instances": any, "GET /v2/user_provided_service_instances": any, "GET /v2/service_brokers": any,
  "GET /v2/service_plans": any, "GET /v2/service_keys": any, "GET /v2/service_bindings": any, "GET /v2/service_plan_visibilities": any,
  "GET /v2/spaces/:guid/summary": space("read"), "GET /v2/spaces/:guid/service_instances": space("read"), "GET /v2/spaces/:guid/services": space("read"),
  "POST /v3/resource_matches": any,
  "GET /v3/jobs/:guid": any,
  "GET /v3/deployments": any,

  // Roles and users.
  "GET /v3/roles": any, "GET /v3/roles/:guid": custom("role"), "POST /v3/roles": body("role"), "DELETE /v3/roles/:guid": custom("role"),
  "GET /v3/users": any, "GET /v3/users/:guid": custom("user"), "POST /v3/users": admin, "DELETE /v3/users/:guid": admin,
  // SCIM checks UAA scopes itself (scim.ts): an admin manages users, anyone changes their own password.
  "POST /uaa/Users": pub, "GET /uaa/Users": pub, "GET /uaa/Users/:id": pub, "DELETE /uaa/Users/:id": pub, "PUT /uaa/Users/:id/password": pub,

  // Orgs and spaces.
  "GET /v3/organizations": any, "POST /v3/organizations": body("org"), "GET /v3/organizations/:guid": org("read"),
  "PATCH /v3/organizations/:guid": org("manage"), "DELETE /v3/organizations/:guid": org("admin"),
  "GET /v3/organizations/:guid/domains": org("read"), "GET /v3/organizations/:guid/domains/default": org("read"),
  "GET /v3/organizations/:guid/relationships/default_isolation_segment": org("read"),
  "GET /v3/spaces": any, "POST /v3/spaces": body("space"), "GET /v3/spaces/:guid": space("read"), "PATCH /v3/spaces/:guid": space("manage"),
  // Deleting a space is for its org's managers (and admins), not its space managers, as in CF.
  "DELETE /v3/spaces/:guid": { kind: "org", need: "manage", what: "Space", locate: locate.spaceOrg },
  "GET /v3/spaces/:guid/relationships/isolation_segment": space("read"),
  "GET /v3/spaces/:guid/running_security_groups": space("read"), "GET /v3/spaces/:guid/staging_security_groups": space("read"),
  "DELETE /v3/spaces/:guid/routes": space("write"), "POST /v3/spaces/:guid/actions/apply_manifest": space("write"),

  // Apps and what hangs off them.
  "GET /v3/apps": any, "POST /v3/apps": body("app"), "GET /v3/apps/:guid": app("read"), "PATCH /v3/apps/:guid": app("write"), "DELETE /v3/apps/:guid": app("write"),
  "POST /v3/apps/:guid/actions/start": app("lifecycle"), "POST /v3/apps/:guid/actions/stop": app("lifecycle"), "POST /v3/apps/:guid/actions/restart": app("lifecycle"),
  "GET /v3/apps/:guid/env": app("env"), "GET /v3/apps/:guid/environment_variables": app("env"), "PATCH /v3/apps/:guid/environment_variables": app("write"),
  "GET /v3/apps/:guid/relationships/current_droplet": app("read"), "PATCH /v3/apps/:guid/relationships/current_droplet": app("write"),
  "GET /v3/apps/:guid/droplets/current": app("read"), "GET /v3/apps/:guid/droplets": app("read"), "GET /v3/apps/:guid/packages": app("read"),
  "GET /v3/apps/:guid/processes": app("read"), "GET /v3/apps/:guid/processes/:type": app("read"), "PATCH /v3/apps/:guid/processes/:type": app("write"),
  "POST /v3/apps/:guid/processes/:type/actions/scale": app("write"), "DELETE /v3/apps/:guid/processes/:type/instances/:index": app("lifecycle"),
  "GET /v3/apps/:guid/processes/:type/sidecars": app("read"), "GET /v3/apps/:guid/processes/:type/stats": app("read"),
  "GET /v3/apps/:guid/builds": app("read"), "GET /v3/apps/:guid/routes": app("read"),
  "POST /v3/apps/:guid/tasks": app("write"), "GET /v3/apps/:guid/tasks": app("read"),
  "GET /v3/apps/:guid/features": app("read"), "GET /v3/apps/:guid/features/:name": app("read"), "PATCH /v3/apps/:guid/features/:name": app("write"),
  "GET /v3/apps/:guid/ssh_enabled": app("read"), "GET /v3/apps/:guid/manifest": app("env"),
  "GET /v3/processes": any, "GET /v3/processes/:guid": proc("read"), "PATCH /v3/processes/:guid": proc("write"),
  "POST /v3/processes/:guid/actions/scale": proc("write"), "DELETE /v3/processes/:guid/instances/:index": proc("lifecycle"),
  "GET /v3/processes/:guid/sidecars": proc("read"), "GET /v3/processes/:guid/stats": proc("read"),
  "GET /v3/packages": any, "GET /v3/packages/:guid": pkg("read"), "GET /v3/packages/:guid/droplets": pkg("read"), "GET /v3/packages/:guid/download": pkg("write"),
  "POST /v3/packages": body("package"), "POST /v3/packages/:guid/upload": pkg("write"),
  "POST /v3/builds": body("build"), "GET /v3/builds": any, "GET /v3/builds/:guid": build("read"),
  "GET /v3/droplets": any, "GET /v3/droplets/:guid": droplet("read"), "GET /v3/droplets/:guid/download": droplet("write"),
  "GET /v3/routes": any, "GET /v3/routes/:guid": route("read"), "POST /v3/routes": body("route"), "PATCH /v3/routes/:guid": route("write"),
  "DELETE /v3/routes/:guid": route("write"), "GET /v3/routes/:guid/destinations": route("read"), "POST /v3/routes/:guid/destinations": route("write"),
  "PATCH /v3/routes/:guid/destinations": route("write"), "DELETE /v3/routes/:guid/destinations/:dest": route("write"),
  "GET /v3/tasks": any, "GET /v3/tasks/:guid": task("read"), "POST /v3/tasks/:guid/actions/cancel": task("write"), "PUT /v3/tasks/:guid/cancel": task("write"),
  "GET /v3/audit_events": any, "GET /v3/audit_events/:guid": custom("audit_event"),
  "GET /api/v1/read/:source_id": custom("log_source"),
};

/** The rule for a request, matched like the router: same segment count, the most literal segments win. */
export function ruleFor(method: string, path: string): { key: string; rule: Rule; params: Record<string, string> } | null {
  const m = method === "HEAD" ? "GET" : method;
  const segs = path.replace(/\/+$/, "").split("/");
  if (segs.length === 1) segs.push("");
  let best: { key: string; rule: Rule; params: Record<string, string>; literals: number } | null = null;
  for (const { key, method: km, segs: ks, rule } of COMPILED) {
    if (km !== m || ks.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    let ok = true;
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i]!;
      const s = segs[i]!;
      if (k.startsWith(":")) {
        if (s === "") { ok = false; break; }
        params[k.slice(1)] = decodeURIComponent(s);
      } else if (k === s) literals++;
      else { ok = false; break; }
    }
    if (ok && (!best || literals > best.literals)) best = { key, rule, params, literals };
  }
  return best;
}

const COMPILED = Object.entries(RULES).map(([key, rule]) => {
  const [method, path] = key.split(" ") as [string, string];
  const segs = path === "/" ? ["", ""] : path.split("/");
  return { key, method, segs, rule };
});
