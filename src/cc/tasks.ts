import { Hono } from "hono";
import { z } from "zod";
import { cpuWeight, type Task, type TaskCompleted } from "../model/index.ts";
import { appAudit } from "./app-state.ts";
import { Metadata, readJson } from "./body.ts";
import type { CcContext, CcDeps, CcEnv } from "./deps.ts";
import { unprocessable } from "./errors.ts";
import { listRows } from "./list.ts";
import * as present from "./present.ts";
import { startCommand } from "./desired.ts";
import { findProcess, getApp, getDroplet, getTask, spaceAndOrg, webProcess, type TaskRow } from "./rows.ts";
import { appHostnames } from "./routes.ts";
import { vcapApplication } from "./vcap.ts";
import { envVarGroup } from "./env-var-groups.ts";
import { assertFeatureEnabled } from "./feature-flags.ts";
import { recordTaskStopped } from "./usage-events.ts";
import { write } from "./write.ts";

const CreateTask = z.strictObject({
  command: z.string().min(1).max(4096).optional(),
  name: z.string().max(255).optional(),
  memory_in_mb: z.number().int().min(1).max(64 * 1024).optional(),
  disk_in_mb: z.number().int().min(1).max(64 * 1024).optional(),
  log_rate_limit_in_bytes_per_second: z.number().int().optional(),
  droplet_guid: z.string().optional(),
  template: z.object({ process: z.object({ guid: z.string() }) }).optional(),
  metadata: Metadata,
});

/**
 * Tasks (`cf run-task`, `cf tasks`, `cf terminate-task`). Decision: tasks go
 * to the orchestrator at once through the TaskRunner port (OPI's task half),
 * not through the Sink: a task is a one-shot command, there is nothing to
 * converge. Completions come back through `recordTaskCompletion`.
 */
export function taskRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();

  r.post("/v3/apps/:guid/tasks", async (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    assertFeatureEnabled(deps, "task_creation");
    const body = await readJson(c, CreateTask);
    const dropletGuid = body.droplet_guid ?? app.droplet_guid;
    if (!dropletGuid) throw unprocessable("Task must have a droplet. Assign current droplet to app.");
    const droplet = getDroplet(deps.db, dropletGuid);
    if (droplet.app_guid !== app.guid || droplet.state !== "STAGED") throw unprocessable("Task must have a droplet. Assign current droplet to app.");
    // `cf run-task --process TYPE` names a template process: its command (as run, detected included), memory and disk are the defaults.
    const template = body.template ? findProcess(deps.db, body.template.process.guid) : null;
    if (body.template && (!template || template.app_guid !== app.guid)) throw unprocessable("Process template must belong to the app");
    const base = template ?? webProcess(deps.db, app.guid);
    const command = body.command ?? (base ? startCommand(base, droplet) : "");
    if (!command) throw unprocessable("Task must have a command");
    const memory = body.memory_in_mb ?? template?.memory_in_mb ?? 1024;
    const disk = body.disk_in_mb ?? template?.disk_in_mb ?? 1024;
    const task = write(deps, () => {
      const seq = (deps.db.query("SELECT COALESCE(MAX(sequence_id), 0) + 1 AS n FROM cc_tasks WHERE app_guid = ?").get(app.guid) as { n: number }).n;
      const guid = deps.newGuid();
      const now = deps.stamp();
      deps.db
        .query("INSERT INTO cc_tasks (guid, app_guid, name, command, state, sequence_id, memory_in_mb, disk_in_mb, droplet_guid, created_at, updated_at) VALUES (?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?)")
        .run(guid, app.guid, body.name ?? guid.slice(0, 8), command, seq, memory, disk, droplet.guid, now, now);
      appAudit(deps, c.get("user"), app, "audit.app.task.create", { task_guid: guid, request: { name: body.name ?? guid.slice(0, 8), command: "[PRIVATE DATA HIDDEN]" } });
      return getTask(deps.db, guid);
    });
    const { space, org } = spaceAndOrg(deps.db, app.space_guid);
    const opiTask: Task = {
      guid: task.guid, name: task.name, app_guid: app.guid, app_name: app.name, space_guid: space.guid, space_name: space.name,
      organization_guid: org.guid, organization_name: org.name,
      environment: { ...envVarGroup(deps, "running"), ...(JSON.parse(app.env) as Record<string, string>), VCAP_APPLICATION: JSON.stringify(vcapApplication(app, space, org, appHostnames(deps.db, app.guid), b(), template ?? undefined, { mem: task.memory_in_mb, disk: task.disk_in_mb })), VCAP_SERVICES: "{}", MEMORY_LIMIT: `${task.memory_in_mb}m` },
      memory_mb: task.memory_in_mb, disk_mb: task.disk_in_mb, cpu_weight: cpuWeight(task.memory_in_mb), command, completion_callback: "",
      lifecycle: droplet.lifecycle_type === "docker" ? { docker_lifecycle: { image: droplet.docker_image ?? "" } } : { buildpack_lifecycle: { droplet_guid: droplet.guid, droplet_hash: droplet.hash ?? "" } },
    };
    try {
      await deps.ports.tasks.desireTask(opiTask);
      write(deps, () => deps.db.query("UPDATE cc_tasks SET state = 'RUNNING', updated_at = ? WHERE guid = ? AND state = 'PENDING'").run(deps.stamp(), task.guid));
    } catch (err) {
      write(deps, () => deps.db.query("UPDATE cc_tasks SET state = 'FAILED', failure_reason = ?, updated_at = ? WHERE guid = ?").run(`could not start: ${(err as Error).message}`, deps.stamp(), task.guid));
    }
    return c.json(present.task(b(), getTask(deps.db, task.guid), false), 202);
  });

  const list = (c: CcContext, rows: TaskRow[]) => {
    const res = listRows(c, b(), rows, {
      filters: {
        names: (t, v) => v.includes(t.name), states: (t, v) => v.includes(t.state), guids: (t, v) => v.includes(t.guid),
        app_guids: (t, v) => v.includes(t.app_guid), sequence_ids: (t, v) => v.includes(String(t.sequence_id)),
      },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((t) => present.task(b(), t, true)) });
  };
  r.get("/v3/tasks", (c) => list(c, deps.db.query("SELECT * FROM cc_tasks").all() as TaskRow[]));
  r.get("/v3/apps/:guid/tasks", (c) => list(c, deps.db.query("SELECT * FROM cc_tasks WHERE app_guid = ?").all(getApp(deps.db, c.req.param("guid")).guid) as TaskRow[]));
  r.get("/v3/tasks/:guid", (c) => c.json(present.task(b(), getTask(deps.db, c.req.param("guid")), false)));

  const cancel = async (c: CcContext) => {
    const t = getTask(deps.db, c.req.param("guid") ?? "");
    if (t.state === "SUCCEEDED" || t.state === "FAILED") throw unprocessable(`Task state is ${t.state} and therefore cannot be canceled`);
    write(deps, () => {
      deps.db.query("UPDATE cc_tasks SET state = 'CANCELING', updated_at = ? WHERE guid = ?").run(deps.stamp(), t.guid);
      appAudit(deps, c.get("user"), getApp(deps.db, t.app_guid), "audit.app.task.cancel", { task_guid: t.guid, request: {} });
    });
    await deps.ports.tasks.cancelTask(t.guid);
    return c.json(present.task(b(), getTask(deps.db, t.guid), false), 202);
  };
  r.post("/v3/tasks/:guid/actions/cancel", cancel);
  r.put("/v3/tasks/:guid/cancel", cancel);
  return r;
}

/** A task finished (OPI event): SUCCEEDED or FAILED with its reason. Unknown tasks are ignored. */
export function recordTaskCompletion(deps: CcDeps, e: TaskCompleted): void {
  const t = deps.db.query("SELECT * FROM cc_tasks WHERE guid = ?").get(e.task_guid) as TaskRow | null;
  if (!t || t.state === "SUCCEEDED" || t.state === "FAILED") return;
  const canceled = t.state === "CANCELING";
  write(deps, () => {
    deps.db
      .query("UPDATE cc_tasks SET state = ?, failure_reason = ?, updated_at = ? WHERE guid = ?")
      .run(e.failed || canceled ? "FAILED" : "SUCCEEDED", canceled ? "task was cancelled" : e.failed ? e.failure_reason : null, deps.stamp(), t.guid);
    recordTaskStopped(deps, t.guid);
  });
}
