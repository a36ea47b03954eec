import type { Database } from "bun:sqlite";
import { Hono } from "hono";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound } from "./errors.ts";
import { listRows } from "./list.ts";

/**
 * App usage events (`GET /v3/app_usage_events`), the feed billing and
 * reporting tools read: STARTED and STOPPED per process (a scale of a started
 * process is a new STARTED with the previous counts), BUILDPACK_SET when
 * staging produced a droplet, TASK_STARTED and TASK_STOPPED. Recorded from
 * the audit events of the same transaction (`recordUsageFor`, called by
 * audit.ts), so a change and its usage event commit together.
 */
type D = Pick<CcDeps, "db" | "newGuid" | "stamp">;

interface UsageRow {
  seq: number;
  guid: string;
  state: string;
  previous_state: string | null;
  app_guid: string;
  app_name: string;
  process_guid: string | null;
  process_type: string | null;
  instance_count: number | null;
  previous_instance_count: number | null;
  memory_in_mb_per_instance: number | null;
  previous_memory_in_mb_per_instance: number | null;
  space_guid: string;
  space_name: string;
  organization_guid: string;
  organization_name: string;
  buildpack_guid: string | null;
  buildpack_name: string | null;
  task_guid: string | null;
  task_name: string | null;
  parent_app_guid: string | null;
  parent_app_name: string | null;
  created_at: string;
}

type NewUsage = Partial<Omit<UsageRow, "seq" | "guid" | "created_at">> & { state: string; app_guid: string };

interface AppCtx {
  guid: string;
  name: string;
  space_guid: string;
  space_name: string;
  org_guid: string;
  org_name: string;
}

function appContext(db: Database, appGuid: string): AppCtx | null {
  return db
    .query(
      `SELECT a.guid, a.name, s.guid AS space_guid, s.name AS space_name, o.guid AS org_guid, o.name AS org_name
       FROM cc_apps a JOIN cc_spaces s ON s.guid = a.space_guid JOIN cc_orgs o ON o.guid = s.org_guid WHERE a.guid = ?`,
    )
    .get(appGuid) as AppCtx | null;
}

function insert(deps: D, app: AppCtx, e: NewUsage): void {
  deps.db
    .query(
      `INSERT INTO cc_app_usage_events (guid, state, previous_state, app_guid, app_name, process_guid, process_type, instance_count, previous_instance_count,
         memory_in_mb_per_instance, previous_memory_in_mb_per_instance, space_guid, space_name, organization_guid, organization_name,
         buildpack_guid, buildpack_name, task_guid, task_name, parent_app_guid, parent_app_name, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      deps.newGuid(), e.state, e.previous_state ?? null, app.guid, app.name, e.process_guid ?? null, e.process_type ?? null, e.instance_count ?? null,
      e.previous_instance_count ?? null, e.memory_in_mb_per_instance ?? null, e.previous_memory_in_mb_per_instance ?? null, app.space_guid, app.space_name,
      app.org_guid, app.org_name, e.buildpack_guid ?? null, e.buildpack_name ?? null, e.task_guid ?? null, e.task_name ?? null,
      e.parent_app_guid ?? null, e.parent_app_name ?? null, deps.stamp(),
    );
}

/** The newest STARTED/STOPPED event of a process: what billing last heard about it. */
function lastProcessEvent(db: Database, processGuid: string): UsageRow | null {
  return db.query("SELECT * FROM cc_app_usage_events WHERE process_guid = ? AND state IN ('STARTED', 'STOPPED') ORDER BY seq DESC LIMIT 1").get(processGuid) as UsageRow | null;
}

/** STARTED or STOPPED for every process of an app whose billed state or size differs from the last event. */
function processEvents(deps: D, app: AppCtx, state: "STARTED" | "STOPPED", force = false): void {
  const procs = deps.db.query("SELECT guid, type, instances, memory_in_mb FROM cc_processes WHERE app_guid = ? ORDER BY type").all(app.guid) as {
    guid: string;
    type: string;
    instances: number;
    memory_in_mb: number;
  }[];
  for (const p of procs) {
    const last = lastProcessEvent(deps.db, p.guid);
    const lastState = last?.state ?? "STOPPED";
    if (state === "STOPPED" && lastState !== "STARTED") continue;
    if (state === "STARTED" && !force && lastState === "STARTED" && last?.instance_count === p.instances && last?.memory_in_mb_per_instance === p.memory_in_mb) continue;
    insert(deps, app, {
      state,
      previous_state: lastState,
      app_guid: app.guid,
      process_guid: p.guid,
      process_type: p.type,
      instance_count: p.instances,
      previous_instance_count: last?.instance_count ?? 0,
      memory_in_mb_per_instance: p.memory_in_mb,
      previous_memory_in_mb_per_instance: last?.memory_in_mb_per_instance ?? p.memory_in_mb,
    });
  }
}

/**
 * Usage events implied by one audit event (same transaction). Audit types:
 * app start/restart/stop/delete, process scale, manifest apply, droplet create (staged), task create.
 */
export function recordUsageFor(deps: D, auditType: string, targetGuid: string, data: Record<string, unknown>): void {
  if (!auditType.startsWith("audit.app.")) return;
  const app = appContext(deps.db, targetGuid);
  if (!app) return;
  const state = (deps.db.query("SELECT state FROM cc_apps WHERE guid = ?").get(app.guid) as { state: string }).state;
  switch (auditType) {
    case "audit.app.start":
      if (state === "STARTED") processEvents(deps, app, "STARTED");
      return;
    case "audit.app.restart":
      // A restart stops and starts every instance: billing sees both.
      processEvents(deps, app, "STOPPED");
      processEvents(deps, app, "STARTED", true);
      return;
    case "audit.app.stop":
    case "audit.app.delete-request":
      processEvents(deps, app, "STOPPED");
      return;
    case "audit.app.process.scale":
    case "audit.app.apply_manifest":
      // A manifest may change instances or memory of a started app: a STARTED event only when the billed size changed.
      if (state === "STARTED") processEvents(deps, app, "STARTED");
      return;
    case "audit.app.droplet.create": {
      const d = deps.db.query("SELECT buildpack_name, detected_buildpack FROM cc_droplets WHERE guid = ?").get(String(data.droplet_guid ?? "")) as
        | { buildpack_name: string; detected_buildpack: string }
        | null;
      if (!d) return;
      const name = d.buildpack_name || d.detected_buildpack;
      const bp = deps.db.query("SELECT guid FROM buildpacks WHERE name = ?").get(name) as { guid: string } | null;
      insert(deps, app, { state: "BUILDPACK_SET", app_guid: app.guid, buildpack_guid: bp?.guid ?? null, buildpack_name: name || null });
      return;
    }
    case "audit.app.task.create": {
      const t = deps.db.query("SELECT guid, name, memory_in_mb FROM cc_tasks WHERE guid = ?").get(String(data.task_guid ?? "")) as { guid: string; name: string; memory_in_mb: number } | null;
      if (t) insert(deps, app, { state: "TASK_STARTED", previous_state: "RUNNING", app_guid: app.guid, task_guid: t.guid, task_name: t.name, instance_count: 1, previous_instance_count: 1, memory_in_mb_per_instance: t.memory_in_mb, previous_memory_in_mb_per_instance: t.memory_in_mb, parent_app_guid: app.guid, parent_app_name: app.name });
      return;
    }
  }
}

/** TASK_STOPPED when a task ends (call in the transaction that records its end). */
export function recordTaskStopped(deps: D, taskGuid: string): void {
  const t = deps.db.query("SELECT guid, name, app_guid, memory_in_mb FROM cc_tasks WHERE guid = ?").get(taskGuid) as { guid: string; name: string; app_guid: string; memory_in_mb: number } | null;
  const app = t ? appContext(deps.db, t.app_guid) : null;
  if (!t || !app) return;
  insert(deps, app, { state: "TASK_STOPPED", previous_state: "RUNNING", app_guid: app.guid, task_guid: t.guid, task_name: t.name, instance_count: 1, previous_instance_count: 1, memory_in_mb_per_instance: t.memory_in_mb, previous_memory_in_mb_per_instance: t.memory_in_mb, parent_app_guid: app.guid, parent_app_name: app.name });
}

function render(b: string, e: UsageRow) {
  const at = isoSeconds(new Date(e.created_at));
  return {
    guid: e.guid,
    created_at: at,
    updated_at: at,
    state: { current: e.state, previous: e.previous_state },
    app: { guid: e.app_guid, name: e.app_name },
    process: { guid: e.process_guid, type: e.process_type },
    space: { guid: e.space_guid, name: e.space_name },
    organization: { guid: e.organization_guid },
    buildpack: { guid: e.buildpack_guid, name: e.buildpack_name },
    task: { guid: e.task_guid, name: e.task_name },
    memory_in_mb_per_instance: { current: e.memory_in_mb_per_instance, previous: e.previous_memory_in_mb_per_instance },
    instance_count: { current: e.instance_count, previous: e.previous_instance_count },
    links: { self: { href: `${b}/v3/app_usage_events/${e.guid}` } },
  };
}

export function usageEventRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/v3/app_usage_events", (c) => {
    const params = new URL(c.req.url).searchParams;
    // after_guid: the consumer's bookmark; everything recorded after that event (CF's billing-feed paging).
    const after = params.get("after_guid");
    let from = 0;
    if (after !== null) {
      const row = deps.db.query("SELECT seq FROM cc_app_usage_events WHERE guid = ?").get(after) as { seq: number } | null;
      if (!row) throw notFound("After guid");
      from = row.seq;
    }
    const rows = deps.db.query("SELECT * FROM cc_app_usage_events WHERE seq > ? ORDER BY seq").all(from) as UsageRow[];
    const res = listRows(c, deps.baseUrl(), rows, { filters: { guids: (e, v) => v.includes(e.guid) }, extra: ["after_guid"], orderBy: { created_at: (e) => e.seq } });
    return c.json({ pagination: res.pagination, resources: res.page.map((e) => render(deps.baseUrl(), e)) });
  });
  // Billing tools start from a clean slate with this: every event goes, and each started process gets a fresh STARTED.
  r.post("/v3/app_usage_events/actions/destructively_purge_all_and_reseed", (c) => {
    deps.db.transaction(() => {
      deps.db.query("DELETE FROM cc_app_usage_events").run();
      const started = deps.db.query("SELECT guid FROM cc_apps WHERE state = 'STARTED' AND droplet_guid IS NOT NULL ORDER BY created_at").all() as { guid: string }[];
      for (const a of started) {
        const app = appContext(deps.db, a.guid);
        if (app) processEvents(deps, app, "STARTED", true);
      }
    }).immediate();
    return c.json({}, 200);
  });
  r.get("/v3/app_usage_events/:guid", (c) => {
    const row = deps.db.query("SELECT * FROM cc_app_usage_events WHERE guid = ?").get(c.req.param("guid")) as UsageRow | null;
    if (!row) throw notFound("Event");
    return c.json(render(deps.baseUrl(), row));
  });
  return r;
}
