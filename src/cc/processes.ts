import { Hono } from "hono";
import { assertFeatureEnabled } from "./feature-flags.ts";
import { z } from "zod";
import { processGuid, type Instance } from "../model/index.ts";
import { appAudit } from "./app-state.ts";
import { Command, Metadata, QUOTA_MAX_MB, readJson } from "./body.ts";
import { applyMetadata, validateMetadata } from "./metadata.ts";
import type { CcContext, CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { listRows } from "./list.ts";
import * as present from "./present.ts";
import { startCommand } from "./desired.ts";
import { appProcess, findDroplet, getApp, getProcess, type ProcessRow } from "./rows.ts";
import { LONG_POLL_MS, waitUntil } from "./long-poll.ts";
import { write } from "./write.ts";

const Scale = z.strictObject({
  instances: z.number().int().min(0).max(2000).optional(),
  memory_in_mb: z.number().int().min(1).max(QUOTA_MAX_MB).optional(),
  disk_in_mb: z.number().int().min(1).max(QUOTA_MAX_MB).optional(),
  log_rate_limit_in_bytes_per_second: z.number().int().min(-1).optional(),
});

const HealthCheck = z.object({
  type: z.enum(["port", "http", "process", "none"]).optional(),
  data: z.object({
    timeout: z.number().int().min(1).max(3600).nullable().optional(),
    invocation_timeout: z.number().int().min(1).max(3600).nullable().optional(),
    interval: z.number().int().nullable().optional(),
    endpoint: z.string().nullable().optional(),
  }).optional(),
});
const UpdateProcess = z.strictObject({ command: Command.nullable().optional(), health_check: HealthCheck.optional(), readiness_health_check: z.unknown().optional(), metadata: Metadata });

export type ScaleInput = z.infer<typeof Scale>;

/** Scale in the caller's transaction (also used by apply_manifest). */
export function scaleProcess(deps: Pick<CcDeps, "db" | "stamp" | "newGuid" | "config">, p: ProcessRow, s: ScaleInput): void {
  deps.db
    .query("UPDATE cc_processes SET instances = ?, memory_in_mb = ?, disk_in_mb = ?, updated_at = ? WHERE guid = ?")
    .run(s.instances ?? p.instances, s.memory_in_mb ?? p.memory_in_mb, s.disk_in_mb ?? p.disk_in_mb, deps.stamp(), p.guid);
}

export interface HealthCheckInput {
  type?: "port" | "http" | "process" | "none";
  timeout?: number | null;
  invocation_timeout?: number | null;
  endpoint?: string | null;
}

/** Command and health check update in the caller's transaction; a new command means a new version (restart). */
export function updateProcess(deps: Pick<CcDeps, "db" | "stamp" | "newGuid">, p: ProcessRow, command: string | null | undefined, hc: HealthCheckInput | undefined): void {
  const type = hc?.type === "none" ? "process" : (hc?.type ?? p.health_check_type);
  const endpoint = hc?.endpoint !== undefined ? hc.endpoint : p.health_check_endpoint;
  if (endpoint && !endpoint.startsWith("/")) throw unprocessable("Health check endpoint must be a valid URI path");
  const version = command !== undefined && command !== p.command ? deps.newGuid() : p.version;
  deps.db
    .query(
      `UPDATE cc_processes SET command = ?, health_check_type = ?, health_check_endpoint = ?, health_check_timeout = ?, health_check_invocation_timeout = ?, version = ?, updated_at = ? WHERE guid = ?`,
    )
    .run(
      command !== undefined ? command : p.command,
      type,
      type === "http" ? (endpoint ?? "/") : endpoint,
      hc?.timeout !== undefined ? hc.timeout : p.health_check_timeout,
      hc?.invocation_timeout !== undefined ? hc.invocation_timeout : p.health_check_invocation_timeout,
      version,
      deps.stamp(),
      p.guid,
    );
}

/** V3 stats states (ccv3/constant ProcessInstanceState) from OPI instance states. */
function statsState(i: Instance): string {
  switch (i.state) {
    case "RUNNING":
      return "RUNNING";
    case "CRASHED":
      return "CRASHED";
    case "UNCLAIMED":
    case "CLAIMED":
      return "STARTING";
    default:
      return "DOWN";
  }
}

/** Processes: list/get/update, scale, stats (ccv3/process.go, process_instance.go). */
export function processRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();

  // CC shows the command a process runs: the user's, else the one detected at staging (Procfile, buildpack).
  const render = (p: ProcessRow) => {
    const app = getApp(deps.db, p.app_guid);
    const d = app.droplet_guid ? findDroplet(deps.db, app.droplet_guid) : null;
    return present.process(b(), { ...p, command: d ? startCommand(p, d) || null : p.command }, false);
  };
  const list = (c: CcContext, rows: ProcessRow[]) => {
    const res = listRows(c, b(), rows, {
      filters: { types: (p, v) => v.includes(p.type), app_guids: (p, v) => v.includes(p.app_guid), guids: (p, v) => v.includes(p.guid), space_guids: (p, v) => v.includes(getApp(deps.db, p.app_guid).space_guid) },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((p) => present.process(b(), p, true)) });
  };
  r.get("/v3/processes", (c) => list(c, deps.db.query("SELECT * FROM cc_processes").all() as ProcessRow[]));
  r.get("/v3/apps/:guid/processes", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    return list(c, deps.db.query("SELECT * FROM cc_processes WHERE app_guid = ?").all(app.guid) as ProcessRow[]);
  });

  const resolve = (c: { req: { param(k: string): string | undefined } }): ProcessRow => {
    const type = c.req.param("type");
    if (type !== undefined) return appProcess(deps.db, getApp(deps.db, c.req.param("guid")!).guid, type);
    return getProcess(deps.db, c.req.param("guid")!);
  };

  for (const base of ["/v3/processes/:guid", "/v3/apps/:guid/processes/:type"]) {
    r.get(base, (c) => c.json(render(resolve(c))));
    r.patch(base, async (c) => {
      const p = resolve(c);
      const body = await readJson(c, UpdateProcess);
      validateMetadata(body.metadata);
      const hc = body.health_check ? { type: body.health_check.type, ...body.health_check.data } : undefined;
      const updated = write(deps, () => {
        updateProcess(deps, p, body.command, hc);
        applyMetadata(deps.db, "process", p.guid, body.metadata);
        appAudit(deps, c.get("user"), getApp(deps.db, p.app_guid), "audit.app.process.update", { process_guid: p.guid, process_type: p.type, request: { ...(body.command !== undefined ? { command: "[PRIVATE DATA HIDDEN]" } : {}), ...(body.health_check ? { health_check: body.health_check } : {}) } });
        return getProcess(deps.db, p.guid);
      }, (x) => [x.app_guid]);
      return c.json(render(updated));
    });
    r.post(`${base}/actions/scale`, async (c) => {
      const p = resolve(c);
      assertFeatureEnabled(deps, "app_scaling");
      const body = await readJson(c, Scale);
      const updated = write(deps, () => {
        scaleProcess(deps, p, body);
        appAudit(deps, c.get("user"), getApp(deps.db, p.app_guid), "audit.app.process.scale", { process_guid: p.guid, process_type: p.type, request: body });
        return getProcess(deps.db, p.guid);
      }, (x) => [x.app_guid]);
      return c.json(render(updated), 202);
    });
    // `cf restart-app-instance`: stop one instance of the running version; OPI starts it again.
    r.delete(`${base}/instances/:index`, async (c) => {
      const p = resolve(c);
      const raw = c.req.param("index");
      const index = /^\d+$/.test(raw) ? Number(raw) : -1;
      if (index < 0 || index >= p.instances) throw notFound("Instance");
      const app = getApp(deps.db, p.app_guid);
      write(deps, () => appAudit(deps, c.get("user"), app, "audit.app.process.terminate_instance", { process_guid: p.guid, process_type: p.type, process_index: index }));
      if (app.state === "STARTED" && app.droplet_guid) await deps.ports.instances.stopInstance(processGuid(p.guid, p.version), index);
      return c.body(null, 204);
    });
    // Sidecars are not supported here: every process has none (an empty list, which `cf app` prints as nothing).
    r.get(`${base}/sidecars`, (c) => {
      const p = resolve(c);
      return c.json({ pagination: emptyPagination(b(), `/v3/processes/${p.guid}/sidecars`), resources: [] });
    });
    // While instances are only STARTING (none running, not all crashed) the answer may be held (long-poll.ts)
    // until that changes: the state the CLI's start poll waits for, reported when it is real.
    r.get(`${base}/stats`, async (c) => {
      const guid = resolve(c).guid;
      let stats = await processStats(deps, getProcess(deps.db, guid));
      await waitUntil(async () => {
        stats = await processStats(deps, getProcess(deps.db, guid));
        return !onlyStarting(stats);
      }, LONG_POLL_MS, c.req.raw.signal);
      return c.json({ resources: stats });
    });
  }
  return r;
}

/** Some instance is STARTING, none RUNNING: the CLI's start poll would look again. */
function onlyStarting(stats: { state: string }[]): boolean {
  return stats.some((s) => s.state === "STARTING") && !stats.some((s) => s.state === "RUNNING");
}

function emptyPagination(base: string, path: string) {
  const first = { href: `${base}${path}?page=1&per_page=50` };
  return { total_results: 0, total_pages: 1, first, last: first, next: null, previous: null };
}

/** Per-instance stats: OPI's view for a started app with a droplet, DOWN otherwise. */
export async function processStats(deps: CcDeps, p: ProcessRow) {
  const app = getApp(deps.db, p.app_guid);
  const nowSec = Math.floor(deps.clock.now().getTime() / 1000);
  const base = (index: number) => ({ type: p.type, index, mem_quota: p.memory_in_mb * 1024 * 1024, disk_quota: p.disk_in_mb * 1024 * 1024, log_rate_limit: -1, fds_quota: 16384, isolation_segment: null, details: null as string | null });
  if (app.state !== "STARTED" || !app.droplet_guid) {
    return Array.from({ length: p.instances }, (_, i) => ({ ...base(i), state: "DOWN", host: "", uptime: 0, instance_ports: [], usage: {} }));
  }
  const actual = await deps.ports.instances.getInstances(processGuid(p.guid, p.version));
  const byIndex = new Map(actual.map((i) => [i.index, i]));
  return Array.from({ length: p.instances }, (_, index) => {
    const i = byIndex.get(index);
    if (!i) return { ...base(index), state: "STARTING", host: "", uptime: 0, instance_ports: [], usage: {} };
    const state = statsState(i);
    return {
      ...base(index),
      state,
      details: i.placement_error || i.details || (state === "CRASHED" ? i.crash_reason || null : null),
      host: i.host,
      uptime: state === "RUNNING" ? Math.max(0, nowSec - i.since) : 0,
      instance_guid: i.instance_guid,
      instance_ports: i.port ? [{ external: i.port, internal: 8080, external_tls_proxy_port: null, internal_tls_proxy_port: null }] : [],
      // Measured by the backend (local: /proc of the instance's process group); {} where it cannot measure.
      usage: i.usage ? { time: i.usage.time, cpu: i.usage.cpu, mem: i.usage.mem, disk: i.usage.disk, log_rate: 0 } : {},
    };
  });
}
