import { addDesired } from "./desired-lrps.ts";
import { adoptSlot } from "./instance-start.ts";
import type { Runtime } from "./runtime.ts";
import { adoptTask, finishTask } from "./task-run.ts";

/**
 * Rebuilds the backend from SQLite after an appliance restart: desired LRPs,
 * tasks, and the process groups that kept running meanwhile, which are
 * adopted rather than restarted. Any other process group of ours is killed.
 */
export async function readopt(rt: Runtime): Promise<void> {
  const { state, executor } = rt;
  for (const lrp of state.loadLRPs()) addDesired(rt, lrp);
  for (const { task, status } of state.loadTasks()) rt.tasks.set(task.guid, { task, status, cell: "", cancelled: false });

  const keep = new Set<number>();
  const adoptedTasks = new Set<string>();
  for (const row of state.loadProcesses()) {
    const { record } = row;
    if (record.kind === "instance") {
      const d = rt.desired.get(row.owner);
      const slot = d?.slots[row.index];
      if (!d || !slot || slot.handle || ("docker_lifecycle" in d.lrp.lifecycle && !executor.runsImages)) {
        state.deleteProcess(record.guid); // no longer wanted: the sweep below kills it
        continue;
      }
      adoptSlot(rt, d, slot, row);
      keep.add(record.pgid);
    } else {
      const t = rt.tasks.get(row.owner);
      if (!t || t.status.state !== "RUNNING") {
        state.deleteProcess(record.guid);
        continue;
      }
      keep.add(record.pgid);
      adoptedTasks.add(t.task.guid);
      adoptTask(rt, t, row);
    }
  }
  for (const t of rt.tasks.values()) {
    if (t.status.state === "RUNNING" && !adoptedTasks.has(t.task.guid)) {
      finishTask(rt, t, "FAILED", "the appliance restarted and the task's process was not found", null);
    }
  }
  const killed = await executor.sweep(keep);
  rt.log.info("local backend started", { lrps: rt.desired.size, adopted: keep.size, orphans_killed: killed, cells: rt.cells.length });
}
