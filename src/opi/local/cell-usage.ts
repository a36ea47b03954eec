import type { CellSpec } from "./cells.ts";
import type { CellState } from "./placement.ts";
import type { Desired } from "./slot.ts";
import type { TaskRun } from "./task-run.ts";

interface Usage {
  memoryMb: number;
  diskMb: number;
  instances: number;
  starting: number;
  counts: Map<string, number>;
}

/** What each cell holds now (placed instances and tasks), as the placement auction sees it. */
export function cellStates(cells: CellSpec[], desired: Iterable<Desired>, tasks: Iterable<TaskRun>): CellState[] {
  const usage = new Map<string, Usage>(cells.map((c) => [c.id, { memoryMb: 0, diskMb: 0, instances: 0, starting: 0, counts: new Map() }]));
  for (const d of desired) {
    for (const s of d.slots) {
      const u = s.cell ? usage.get(s.cell) : undefined;
      if (!u) continue;
      charge(u, d.lrp.memory_mb, d.lrp.disk_mb);
      if (s.state !== "RUNNING") u.starting += 1;
      u.counts.set(d.lrp.process_guid, (u.counts.get(d.lrp.process_guid) ?? 0) + 1);
    }
  }
  for (const t of tasks) {
    const u = t.cell ? usage.get(t.cell) : undefined;
    if (u) charge(u, t.task.memory_mb, t.task.disk_mb);
  }
  return cells.map((c) => {
    const u = usage.get(c.id)!;
    return { ...c, usedMemoryMb: u.memoryMb, usedDiskMb: u.diskMb, usedInstances: u.instances, starting: u.starting, processCounts: u.counts };
  });
}

function charge(u: Usage, memoryMb: number, diskMb: number): void {
  u.memoryMb += memoryMb;
  u.diskMb += diskMb;
  u.instances += 1;
}
