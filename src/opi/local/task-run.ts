import type { Task, TaskStatus } from "../../model/index.ts";
import { taskEnv } from "./environment.ts";
import { StartError, type ExitStatus, type ProcessHandle } from "./executor.ts";
import { exitStatus, releaseProcess } from "./process-exit.ts";
import type { Runtime } from "./runtime.ts";
import type { ProcessRow } from "./state.ts";

/** A task and the one process that runs it; PENDING until the scheduler gives it a cell. */
export interface TaskRun {
  task: Task;
  status: TaskStatus;
  cell: string;
  handle?: ProcessHandle;
  cancelled: boolean;
  done?: Promise<void>;
}

/** Runs a task just placed on its cell. */
export function startTask(rt: Runtime, t: TaskRun): void {
  const task = t.task;
  t.status = { ...t.status, state: "RUNNING", started_at: Math.floor(rt.clock.now() / 1000) };
  rt.state.saveTask(task, t.status, rt.clock.now());
  const life = task.lifecycle && "buildpack_lifecycle" in task.lifecycle ? task.lifecycle.buildpack_lifecycle : undefined;
  const docker = task.lifecycle && "docker_lifecycle" in task.lifecycle ? task.lifecycle.docker_lifecycle : undefined;
  t.done = (async () => {
    let handle: ProcessHandle;
    try {
      handle = await rt.executor.start({
        kind: "task",
        guid: task.guid,
        dropletHash: life?.droplet_hash,
        command: task.command,
        // A task of a docker app runs its command with the image's shell.
        ...(docker ? { image: { ref: docker.image, command: ["/bin/sh", "-c", task.command] } } : {}),
        env: taskEnv(task, rt.cfApi()),
        memoryMb: task.memory_mb,
        diskMb: task.disk_mb,
        log: { sourceId: task.app_guid, sourceType: `APP/TASK/${task.name || task.guid}`, instanceId: "0" },
      });
    } catch (err) {
      finishTask(rt, t, "FAILED", err instanceof StartError ? err.message : `failed to start: ${(err as Error).message}`, null);
      return;
    }
    t.handle = handle;
    rt.state.saveProcess({ record: handle.record, owner: task.guid, index: 0, ports: [], cell: t.cell, crashCount: 0, startedAt: rt.clock.now() });
    if (t.cancelled) void rt.executor.stop(handle, rt.timing.stopGraceMs);
    await handle.exited.then((exit) => onTaskExit(rt, t, exit));
  })();
}

/** Takes over a task process that outlived the previous backend. */
export function adoptTask(rt: Runtime, t: TaskRun, row: ProcessRow): void {
  t.cell = row.cell;
  t.handle = rt.executor.adopt(row.record, t.task.memory_mb, t.task.disk_mb);
  t.done = t.handle.exited.then((exit) => onTaskExit(rt, t, exit));
}

function onTaskExit(rt: Runtime, t: TaskRun, exit: ExitStatus): void {
  if (rt.abandoned) return;
  if (t.handle) void releaseProcess(rt, t.handle.record.guid);
  t.handle = undefined;
  if (rt.stopped && t.cancelled) return; // appliance shutdown: the next start reports it
  if (t.cancelled) return finishTask(rt, t, "FAILED", "cancelled", exit.code);
  if (exit.outOfMemory) return finishTask(rt, t, "FAILED", "Exited with status 137 (out of memory)", 137);
  if (exit.outOfDisk) return finishTask(rt, t, "FAILED", "Exited with status 137 (disk quota exceeded)", 137);
  if (exit.code === 0) return finishTask(rt, t, "SUCCEEDED", "", 0);
  const status = exitStatus(exit);
  finishTask(rt, t, "FAILED", status === null ? "the task ended while the appliance was down (exit status unknown)" : `Exited with status ${status}`, status);
}

export function finishTask(rt: Runtime, t: TaskRun, state: "SUCCEEDED" | "FAILED", reason: string, code: number | null): void {
  t.cell = "";
  t.status = { ...t.status, state, failure_reason: reason, exit_code: code, finished_at: Math.floor(rt.clock.now() / 1000) };
  rt.state.saveTask(t.task, t.status, rt.clock.now());
  rt.events.emit({ type: "task_completed", task_guid: t.task.guid, state, failed: state === "FAILED", failure_reason: reason, at: rt.clock.now() });
  rt.converge();
}
