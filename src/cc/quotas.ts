import type { Database } from "bun:sqlite";
import { Hono } from "hono";
import { z } from "zod";
import { accessFrom, orgScope } from "./authz.ts";
import { readJson } from "./body.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { listRows } from "./list.ts";
import { getOrg, getSpace } from "./rows.ts";
import { write } from "./write.ts";

/**
 * Org and space quotas (`cf create-quota`, `quota(s)`, `update-quota`,
 * `delete-quota`, `set-quota`, `create-space-quota`, `space-quota(s)`,
 * `set-space-quota`, `unset-space-quota`): the /v3 resources and their
 * enforcement. A NULL limit is unlimited (the CLI sends null for -1). Every
 * org without a quota of its own uses "default", which is unlimited on a
 * fresh appliance. `withinQuota` wraps each write that can grow usage
 * (start, scale, push's manifest, task, route) and refuses, inside the same
 * transaction, a change that leaves a limit exceeded, in CC's words.
 */
export const DEFAULT_ORG_QUOTA_GUID = "6f1bb2bb-0d50-4b6c-9e5a-8f2e0d3e7a01";

interface QuotaRow {
  guid: string; name: string; total_memory_in_mb: number | null; per_process_memory_in_mb: number | null; total_instances: number | null;
  per_app_tasks: number | null; total_service_instances: number | null; total_routes: number | null; total_reserved_ports: number | null;
  total_domains?: number | null; paid_services_allowed: number; created_at: string; updated_at: string; org_guid?: string;
}

const Limit = z.number().int().min(0).nullable().optional();
// Strict, as CC's messages are: an unknown field is refused (422), never dropped.
const QuotaBody = {
  apps: z.strictObject({ total_memory_in_mb: Limit, per_process_memory_in_mb: Limit, total_instances: Limit, per_app_tasks: Limit, log_rate_limit_in_bytes_per_second: z.number().nullable().optional() }).optional(),
  services: z.strictObject({ paid_services_allowed: z.boolean().optional(), total_service_instances: Limit, total_service_keys: Limit }).optional(),
  routes: z.strictObject({ total_routes: Limit, total_reserved_ports: Limit }).optional(),
};
const Domains = z.strictObject({ total_domains: Limit }).optional();
const CreateOrgQuota = z.strictObject({ name: z.string().min(1).max(250), ...QuotaBody, domains: Domains, relationships: z.strictObject({ organizations: z.object({ data: z.array(z.object({ guid: z.string() })) }) }).optional() });
// CC's update takes no relationships (orgs are applied through .../relationships/organizations): naming them is refused as an unknown field.
const UpdateOrgQuota = z.strictObject({ name: z.string().min(1).max(250).optional(), ...QuotaBody, domains: Domains });
const CreateSpaceQuota = z.strictObject({
  name: z.string().min(1).max(250), ...QuotaBody,
  relationships: z.strictObject({ organization: z.object({ data: z.object({ guid: z.string() }) }), spaces: z.object({ data: z.array(z.object({ guid: z.string() })) }).optional() }),
});
const UpdateSpaceQuota = z.strictObject({ name: z.string().min(1).max(250).optional(), ...QuotaBody });
const Relate = z.object({ data: z.array(z.object({ guid: z.string().min(1) })).min(1) });
export const quotaSchemas = { CreateOrgQuota, UpdateOrgQuota, CreateSpaceQuota, UpdateSpaceQuota, Relate };

type QuotaInput = Pick<z.infer<typeof UpdateOrgQuota>, "apps" | "services" | "routes" | "domains">;
const LIMIT_COLUMNS = ["total_memory_in_mb", "per_process_memory_in_mb", "total_instances", "per_app_tasks", "total_service_instances", "total_routes", "total_reserved_ports"] as const;
type LimitColumn = (typeof LIMIT_COLUMNS)[number] | "total_domains";

/**
 * The limits this appliance cannot honour, refused rather than stored and
 * ignored: a quota log rate limit (processes have their own log rate limits,
 * but no quota sums them here) and service keys (no column keeps it; the
 * CLI never sends either). Null, unlimited, is what is rendered anyway.
 * Service instance counts and paid plans, and reserved route ports, are
 * stored and shown as CF does: no services and no TCP routes exist on this
 * appliance (routes refuse `port`), so nothing can exceed those limits.
 */
function refuseUnsupported(b: QuotaInput): void {
  if (b.apps?.log_rate_limit_in_bytes_per_second != null) throw unprocessable("apps.log_rate_limit_in_bytes_per_second: quota log rate limits are not supported by the Eirini appliance (send null, unlimited)");
  if (b.services?.total_service_keys != null) throw unprocessable("services.total_service_keys: service keys are not supported by the Eirini appliance (send null, unlimited)");
}

function limitsFrom(b: QuotaInput): Partial<Record<LimitColumn, number | null>> {
  const out: Partial<Record<LimitColumn, number | null>> = {};
  const put = (k: LimitColumn, v: number | null | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  put("total_memory_in_mb", b.apps?.total_memory_in_mb);
  put("per_process_memory_in_mb", b.apps?.per_process_memory_in_mb);
  put("total_instances", b.apps?.total_instances);
  put("per_app_tasks", b.apps?.per_app_tasks);
  put("total_service_instances", b.services?.total_service_instances);
  put("total_routes", b.routes?.total_routes);
  put("total_reserved_ports", b.routes?.total_reserved_ports);
  put("total_domains", b.domains?.total_domains);
  return out;
}

/** The "default" org quota, unlimited; inserted once. */
export function seedDefaultQuota(db: Database, now: string): void {
  db.query("INSERT OR IGNORE INTO cc_org_quotas (guid, name, created_at, updated_at) VALUES (?, 'default', ?, ?)").run(DEFAULT_ORG_QUOTA_GUID, now, now);
}

function render(b: string, q: QuotaRow, kind: "organization" | "space", related: string[]) {
  const base = {
    guid: q.guid, created_at: isoSeconds(new Date(q.created_at)), updated_at: isoSeconds(new Date(q.updated_at)), name: q.name,
    apps: { total_memory_in_mb: q.total_memory_in_mb, per_process_memory_in_mb: q.per_process_memory_in_mb, total_instances: q.total_instances, per_app_tasks: q.per_app_tasks, log_rate_limit_in_bytes_per_second: null },
    services: { paid_services_allowed: q.paid_services_allowed === 1, total_service_instances: q.total_service_instances, total_service_keys: null },
    routes: { total_routes: q.total_routes, total_reserved_ports: q.total_reserved_ports },
  };
  if (kind === "organization") {
    return { ...base, domains: { total_domains: q.total_domains ?? null }, relationships: { organizations: { data: related.map((guid) => ({ guid })) } }, links: { self: { href: `${b}/v3/organization_quotas/${q.guid}` } } };
  }
  return {
    ...base, relationships: { organization: { data: { guid: q.org_guid } }, spaces: { data: related.map((guid) => ({ guid })) } },
    links: { self: { href: `${b}/v3/space_quotas/${q.guid}` }, organization: { href: `${b}/v3/organizations/${q.org_guid}` } },
  };
}

const orgsOf = (db: Database, quotaGuid: string) =>
  (db.query("SELECT guid FROM cc_orgs WHERE COALESCE(quota_guid, ?) = ? ORDER BY created_at").all(DEFAULT_ORG_QUOTA_GUID, quotaGuid) as { guid: string }[]).map((r) => r.guid);
const spacesOf = (db: Database, quotaGuid: string) => (db.query("SELECT guid FROM cc_spaces WHERE space_quota_guid = ? ORDER BY created_at").all(quotaGuid) as { guid: string }[]).map((r) => r.guid);

export function quotaRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const db = deps.db;
  const getOrgQuota = (guid: string) => {
    const q = db.query("SELECT * FROM cc_org_quotas WHERE guid = ?").get(guid) as QuotaRow | null;
    if (!q) throw notFound("Organization quota");
    return q;
  };
  const getSpaceQuota = (guid: string) => {
    const q = db.query("SELECT * FROM cc_space_quotas WHERE guid = ?").get(guid) as QuotaRow | null;
    if (!q) throw notFound("Space quota");
    return q;
  };
  const setLimits = (table: string, guid: string, body: QuotaInput) => {
    refuseUnsupported(body);
    for (const [k, v] of Object.entries(limitsFrom(body))) db.query(`UPDATE ${table} SET ${k} = ? WHERE guid = ?`).run(v, guid);
    if (body.services?.paid_services_allowed !== undefined) db.query(`UPDATE ${table} SET paid_services_allowed = ? WHERE guid = ?`).run(body.services.paid_services_allowed ? 1 : 0, guid);
  };

  r.get("/v3/organization_quotas", (c) => {
    // A user sees the quotas of the orgs they see (the default one through any org on it); global readers see all.
    const v = orgScope(accessFrom(c), "o.guid");
    const rows = (v.sql === "1 = 1"
      ? db.query("SELECT * FROM cc_org_quotas").all()
      : db.query(`SELECT * FROM cc_org_quotas WHERE guid IN (SELECT COALESCE(o.quota_guid, ?) FROM cc_orgs o WHERE ${v.sql})`).all(DEFAULT_ORG_QUOTA_GUID, ...v.args)) as QuotaRow[];
    const withOrgs = rows.map((q) => ({ ...q, orgs: orgsOf(db, q.guid) }));
    const res = listRows(c, b(), withOrgs, {
      filters: { names: (x, v) => v.includes(x.name), guids: (x, v) => v.includes(x.guid), organization_guids: (x, v) => x.orgs.some((o) => v.includes(o)) },
      orderBy: { name: (x) => x.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((q) => render(b(), q, "organization", q.orgs)) });
  });
  r.get("/v3/organization_quotas/:guid", (c) => {
    const q = getOrgQuota(c.req.param("guid"));
    return c.json(render(b(), q, "organization", orgsOf(db, q.guid)));
  });
  r.post("/v3/organization_quotas", async (c) => {
    const body = await readJson(c, CreateOrgQuota);
    const q = write(deps, () => {
      if (db.query("SELECT 1 FROM cc_org_quotas WHERE name = ?").get(body.name)) throw unprocessable(`Organization Quota '${body.name}' already exists.`);
      const guid = deps.newGuid();
      const now = deps.stamp();
      db.query("INSERT INTO cc_org_quotas (guid, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(guid, body.name, now, now);
      setLimits("cc_org_quotas", guid, body);
      for (const o of body.relationships?.organizations.data ?? []) db.query("UPDATE cc_orgs SET quota_guid = ? WHERE guid = ?").run(guid, getOrg(db, o.guid).guid);
      return getOrgQuota(guid);
    });
    return c.json(render(b(), q, "organization", orgsOf(db, q.guid)), 201);
  });
  r.patch("/v3/organization_quotas/:guid", async (c) => {
    const guid = getOrgQuota(c.req.param("guid")).guid;
    const body = await readJson(c, UpdateOrgQuota);
    const q = write(deps, () => {
      if (body.name !== undefined) {
        const other = db.query("SELECT guid FROM cc_org_quotas WHERE name = ?").get(body.name) as { guid: string } | null;
        if (other && other.guid !== guid) throw unprocessable(`Organization Quota '${body.name}' already exists.`);
        db.query("UPDATE cc_org_quotas SET name = ? WHERE guid = ?").run(body.name, guid);
      }
      setLimits("cc_org_quotas", guid, body);
      db.query("UPDATE cc_org_quotas SET updated_at = ? WHERE guid = ?").run(deps.stamp(), guid);
      return getOrgQuota(guid);
    });
    return c.json(render(b(), q, "organization", orgsOf(db, q.guid)));
  });
  r.delete("/v3/organization_quotas/:guid", (c) => {
    const q = getOrgQuota(c.req.param("guid"));
    if (orgsOf(db, q.guid).length > 0) throw unprocessable("This quota is applied to one or more organizations. Remove this quota from all organizations before deleting.");
    write(deps, () => db.query("DELETE FROM cc_org_quotas WHERE guid = ?").run(q.guid));
    return c.body(null, 202);
  });
  r.post("/v3/organization_quotas/:guid/relationships/organizations", async (c) => {
    const q = getOrgQuota(c.req.param("guid"));
    const body = await readJson(c, Relate);
    write(deps, () => {
      for (const o of body.data) db.query("UPDATE cc_orgs SET quota_guid = ?, updated_at = ? WHERE guid = ?").run(q.guid, deps.stamp(), getOrg(db, o.guid).guid);
    });
    return c.json({ data: orgsOf(db, q.guid).map((guid) => ({ guid })), links: { self: { href: `${b()}/v3/organization_quotas/${q.guid}/relationships/organizations` } } });
  });

  r.get("/v3/space_quotas", (c) => {
    const v = orgScope(accessFrom(c), "org_guid");
    const rows = (db.query(`SELECT * FROM cc_space_quotas WHERE ${v.sql}`).all(...v.args) as QuotaRow[]).map((q) => ({ ...q, spaces: spacesOf(db, q.guid) }));
    const res = listRows(c, b(), rows, {
      filters: {
        names: (x, v) => v.includes(x.name), guids: (x, v) => v.includes(x.guid), organization_guids: (x, v) => v.includes(x.org_guid ?? ""),
        space_guids: (x, v) => x.spaces.some((s) => v.includes(s)),
      },
      orderBy: { name: (x) => x.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((q) => render(b(), q, "space", q.spaces)) });
  });
  r.get("/v3/space_quotas/:guid", (c) => {
    const q = getSpaceQuota(c.req.param("guid"));
    return c.json(render(b(), q, "space", spacesOf(db, q.guid)));
  });
  r.post("/v3/space_quotas", async (c) => {
    const body = await readJson(c, CreateSpaceQuota);
    const orgGuid = body.relationships.organization.data.guid;
    const q = write(deps, () => {
      getOrg(db, orgGuid);
      if (db.query("SELECT 1 FROM cc_space_quotas WHERE org_guid = ? AND name = ?").get(orgGuid, body.name)) throw unprocessable(`Space Quota '${body.name}' already exists.`);
      const guid = deps.newGuid();
      const now = deps.stamp();
      db.query("INSERT INTO cc_space_quotas (guid, name, org_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(guid, body.name, orgGuid, now, now);
      setLimits("cc_space_quotas", guid, body);
      for (const s of body.relationships.spaces?.data ?? []) {
        const space = getSpace(db, s.guid);
        if (space.org_guid !== orgGuid) throw unprocessable(`Space quota '${body.name}' does not belong to the organization of space '${space.name}'.`);
        db.query("UPDATE cc_spaces SET space_quota_guid = ? WHERE guid = ?").run(guid, space.guid);
      }
      return getSpaceQuota(guid);
    });
    return c.json(render(b(), q, "space", spacesOf(db, q.guid)), 201);
  });
  r.patch("/v3/space_quotas/:guid", async (c) => {
    const cur = getSpaceQuota(c.req.param("guid"));
    const body = await readJson(c, UpdateSpaceQuota);
    const q = write(deps, () => {
      if (body.name !== undefined) {
        const other = db.query("SELECT guid FROM cc_space_quotas WHERE org_guid = ? AND name = ?").get(cur.org_guid ?? "", body.name) as { guid: string } | null;
        if (other && other.guid !== cur.guid) throw unprocessable(`Space Quota '${body.name}' already exists.`);
        db.query("UPDATE cc_space_quotas SET name = ? WHERE guid = ?").run(body.name, cur.guid);
      }
      setLimits("cc_space_quotas", cur.guid, body);
      db.query("UPDATE cc_space_quotas SET updated_at = ? WHERE guid = ?").run(deps.stamp(), cur.guid);
      return getSpaceQuota(cur.guid);
    });
    return c.json(render(b(), q, "space", spacesOf(db, q.guid)));
  });
  r.delete("/v3/space_quotas/:guid", (c) => {
    const q = getSpaceQuota(c.req.param("guid"));
    if (spacesOf(db, q.guid).length > 0) throw unprocessable("This quota is applied to one or more spaces. Remove this quota from all spaces before deleting.");
    write(deps, () => db.query("DELETE FROM cc_space_quotas WHERE guid = ?").run(q.guid));
    return c.body(null, 202);
  });
  r.post("/v3/space_quotas/:guid/relationships/spaces", async (c) => {
    const q = getSpaceQuota(c.req.param("guid"));
    const body = await readJson(c, Relate);
    write(deps, () => {
      for (const s of body.data) {
        const space = getSpace(db, s.guid);
        if (space.org_guid !== q.org_guid) throw unprocessable(`Space quota '${q.name}' does not belong to the space's organization.`);
        db.query("UPDATE cc_spaces SET space_quota_guid = ?, updated_at = ? WHERE guid = ?").run(q.guid, deps.stamp(), space.guid);
      }
    });
    return c.json({ data: spacesOf(db, q.guid).map((guid) => ({ guid })), links: { self: { href: `${b()}/v3/space_quotas/${q.guid}/relationships/spaces` } } });
  });
  r.delete("/v3/space_quotas/:guid/relationships/spaces/:space_guid", (c) => {
    const q = getSpaceQuota(c.req.param("guid"));
    const space = getSpace(db, c.req.param("space_guid"));
    write(deps, () => db.query("UPDATE cc_spaces SET space_quota_guid = NULL, updated_at = ? WHERE guid = ? AND space_quota_guid = ?").run(deps.stamp(), space.guid, q.guid));
    return c.body(null, 204);
  });
  return r;
}

/** What a set of spaces uses, as CC counts it: started apps' instances and memory, running tasks' memory, routes. */
interface Usage { memory: number; instances: number; maxInstanceMemory: number; routes: number; appTasks: number }

function usage(db: Database, where: string, arg: string, appGuid: string | undefined): Usage {
  const apps = db
    .query(
      `SELECT COALESCE(SUM(CASE WHEN a.state = 'STARTED' THEN p.memory_in_mb * p.instances END), 0) AS memory,
              COALESCE(SUM(CASE WHEN a.state = 'STARTED' THEN p.instances END), 0) AS instances,
              COALESCE(MAX(p.memory_in_mb), 0) AS maxInstanceMemory
       FROM cc_processes p JOIN cc_apps a ON a.guid = p.app_guid WHERE ${where}`,
    )
    .get(arg) as { memory: number; instances: number; maxInstanceMemory: number };
  const tasks = db.query(`SELECT COALESCE(SUM(t.memory_in_mb), 0) AS m FROM cc_tasks t JOIN cc_apps a ON a.guid = t.app_guid WHERE t.state IN ('PENDING', 'RUNNING') AND ${where}`).get(arg) as { m: number };
  const routes = db.query(`SELECT COUNT(*) AS n FROM cc_routes a WHERE ${where}`).get(arg) as { n: number };
  const appTasks = appGuid ? (db.query("SELECT COUNT(*) AS n FROM cc_tasks WHERE app_guid = ? AND state IN ('PENDING', 'RUNNING')").get(appGuid) as { n: number }).n : 0;
  return { memory: apps.memory + tasks.m, instances: apps.instances, maxInstanceMemory: apps.maxInstanceMemory, routes: routes.n, appTasks };
}

const ORG_WHERE = "a.space_guid IN (SELECT guid FROM cc_spaces WHERE org_guid = ?)";
const SPACE_WHERE = "a.space_guid = ?";

/**
 * Runs `change` (inside the caller's write) and refuses it when it made a
 * usage grow past the space's or the org's quota: the transaction rolls back.
 * Usage already over a lowered limit does not block changes that shrink it.
 */
export function withinQuota<T>(db: Database, spaceGuid: string, change: () => T, appGuid?: string): T {
  const space = db.query("SELECT s.guid, s.name, s.org_guid, s.space_quota_guid, o.name AS org_name, COALESCE(o.quota_guid, ?) AS org_quota FROM cc_spaces s JOIN cc_orgs o ON o.guid = s.org_guid WHERE s.guid = ?")
    .get(DEFAULT_ORG_QUOTA_GUID, spaceGuid) as { guid: string; name: string; org_guid: string; space_quota_guid: string | null; org_name: string; org_quota: string } | null;
  if (!space) return change();
  const orgQuota = db.query("SELECT * FROM cc_org_quotas WHERE guid = ?").get(space.org_quota) as QuotaRow | null;
  const spaceQuota = space.space_quota_guid ? (db.query("SELECT * FROM cc_space_quotas WHERE guid = ?").get(space.space_quota_guid) as QuotaRow | null) : null;
  const checks: { q: QuotaRow; where: string; arg: string; scope: "org" | "space" }[] = [];
  if (spaceQuota) checks.push({ q: spaceQuota, where: SPACE_WHERE, arg: space.guid, scope: "space" });
  if (orgQuota) checks.push({ q: orgQuota, where: ORG_WHERE, arg: space.org_guid, scope: "org" });
  const limited = checks.filter(({ q }) => LIMIT_COLUMNS.some((k) => q[k] !== null));
  if (limited.length === 0) return change();
  const before = limited.map((l) => usage(db, l.where, l.arg, appGuid));
  const out = change();
  limited.forEach((l, i) => {
    const was = before[i]!;
    const now = usage(db, l.where, l.arg, appGuid);
    const grew = (k: keyof Usage, limit: number | null) => limit !== null && now[k] > limit && now[k] > was[k];
    const sp = l.scope === "space";
    if (grew("maxInstanceMemory", l.q.per_process_memory_in_mb)) throw unprocessable(sp ? "memory space_instance_memory_limit_exceeded" : "memory instance_memory_limit_exceeded");
    if (grew("memory", l.q.total_memory_in_mb)) throw unprocessable(sp ? "memory space_quota_exceeded" : "memory quota_exceeded");
    if (grew("instances", l.q.total_instances)) throw unprocessable(sp ? "app_instance_limit space_app_instance_limit_exceeded" : "app_instance_limit app_instance_limit_exceeded");
    if (grew("appTasks", l.q.per_app_tasks)) throw unprocessable(sp ? "app_task_limit space_app_task_limit_exceeded" : "app_task_limit app_task_limit_exceeded");
    if (grew("routes", l.q.total_routes)) throw unprocessable(sp ? `Routes quota exceeded for space '${space.name}'.` : `Routes quota exceeded for organization '${space.org_name}'.`);
  });
  return out;
}

/**
 * Refuses (inside the caller's write) a new private domain of `orgGuid` when
 * its org quota's `domains.total_domains` is already reached, as CC does.
 */
export function assertDomainQuota(db: Database, orgGuid: string): void {
  const q = db.query("SELECT o.name, q.total_domains FROM cc_orgs o JOIN cc_org_quotas q ON q.guid = COALESCE(o.quota_guid, ?) WHERE o.guid = ?")
    .get(DEFAULT_ORG_QUOTA_GUID, orgGuid) as { name: string; total_domains: number | null } | null;
  if (!q || q.total_domains === null) return;
  const { n } = db.query("SELECT COUNT(*) AS n FROM cc_domains WHERE org_guid = ?").get(orgGuid) as { n: number };
  if (n >= q.total_domains) throw unprocessable(`The number of private domains exceeds the quota for organization "${q.name}"`);
}
