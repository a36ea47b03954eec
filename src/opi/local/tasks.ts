import { Task as TaskSchema, type Task } from "../../model/index.ts";
import { parseOrInvalid } from "./input.ts";
import type { Runtime } from "./runtime.ts";
import { finishTask, type TaskRun } from "./task-run.ts";

/** Records a task to run; desiring a known guid again is a no-op. */
export function desireTask(rt: Runtime, input: Task): void {
  const task = parseOrInvalid(TaskSchema, input, "task");
  if (rt.tasks.has(task.guid)) return;
  const run: TaskRun = {
    task,
    status: { guid: task.guid, state: "PENDING", failure_reason: "", exit_code: null, started_at: null, finished_at: null },
    cell: "",
    cancelled: false,
  };
  rt.tasks.set(task.guid, run);
  rt.state.saveTask(task, run.status, rt.clock.now());
  if (task.lifecycle && "docker_lifecycle" in task.lifecycle && !rt.executor.runsImages) {
    finishTask(rt, run, "FAILED", "docker images cannot run on the local backend (no container runtime)", null);
    return;
  }
  rt.converge();
}

/** Ends a task as FAILED "cancelled"; resolves once its process is gone. */
export async function cancelTask(rt: Runtime, guid: string): Promise<void> {
  const t = rt.tasks.get(guid);
  if (!t || t.status.state === "SUCCEEDED" || t.status.state === "FAILED") return;
  t.cancelled = true;
  if (t.handle) {
    await rt.executor.stop(t.handle, rt.timing.stopGraceMs);
    await t.done;
  } else if (!t.cell) {
    finishTask(rt, t, "FAILED", "cancelled", null);
  } else {
    // Placed but still starting: the start sees `cancelled` and stops the process itself.
    await t.done;
  }
}

/** Appliance shutdown: stops every task process; their outcome is settled on the next start. */
export function stopTasks(rt: Runtime): Promise<void>[] {
  const work: Promise<void>[] = [];
  for (const t of rt.tasks.values()) {
    if (t.handle) {
      t.cancelled = true;
      work.push(rt.executor.stop(t.handle, rt.timing.stopGraceMs).then(() => t.done));
    }
  }
  return work;
}
