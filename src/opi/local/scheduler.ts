import { cellStates } from "./cell-usage.ts";
import { startSlot } from "./instance-start.ts";
import { place, type PlacementRequest } from "./placement.ts";
import type { Runtime } from "./runtime.ts";
import { setSlotState, type Desired, type Slot } from "./slot.ts";
import { finishTask, startTask } from "./task-run.ts";

/** Tasks share the auction with instances under a prefix no process_guid has. */
const TASK_PREFIX = "task:";

/**
 * Places whatever waits for a cell: new and crashed instances whose restart
 * is due, and pending tasks. A timer wakes it for the next backed-off restart.
 */
export class Scheduler {
  private queued = false;
  private cancelWake: (() => void) | undefined;

  constructor(private readonly rt: Runtime) {}

  /** Coalesced so a burst of changes runs one auction. */
  converge(): void {
    if (this.queued || this.rt.stopped) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (!this.rt.stopped) this.auction();
    });
  }

  stopWaking(): void {
    this.cancelWake?.();
    this.cancelWake = undefined;
  }

  private auction(): void {
    const { rt } = this;
    const now = rt.clock.now();
    const requests: PlacementRequest[] = [];
    const slotOf = new Map<string, [Desired, Slot]>();
    let nextWake = Infinity;
    for (const d of rt.desired.values()) {
      for (const s of d.slots) {
        if (s.blocked || s.cell) continue;
        const waiting = s.state === "UNCLAIMED" || (s.state === "CRASHED" && s.restartAt !== null);
        if (!waiting) continue;
        if (s.state === "CRASHED" && s.restartAt! > now) {
          nextWake = Math.min(nextWake, s.restartAt!);
          continue;
        }
        slotOf.set(slotKey(d.lrp.process_guid, s.index), [d, s]);
        requests.push({ process_guid: d.lrp.process_guid, index: s.index, memory_mb: d.lrp.memory_mb, disk_mb: d.lrp.disk_mb, placement_tags: d.lrp.placement_tags });
      }
    }
    for (const t of rt.tasks.values()) {
      if (t.status.state !== "PENDING" || t.cell || t.cancelled) continue;
      requests.push({ process_guid: TASK_PREFIX + t.task.guid, index: 0, memory_mb: t.task.memory_mb, disk_mb: t.task.disk_mb, placement_tags: [] });
    }
    this.wakeAt(nextWake);
    if (requests.length === 0) return;

    const { placed, unplaced } = place(cellStates(rt.cells, rt.desired.values(), rt.tasks.values()), requests, rt.config.cells.binPackWeight);
    for (const { request, cell } of placed) {
      const t = this.taskOf(request);
      if (t) {
        t.cell = cell;
        startTask(rt, t);
        continue;
      }
      const [d, s] = slotOf.get(slotKey(request.process_guid, request.index))!;
      s.cell = cell;
      s.placementError = "";
      startSlot(rt, d, s);
    }
    for (const { request, error } of unplaced) {
      const t = this.taskOf(request);
      if (t) {
        // Diego fails a task no cell can take rather than queueing it forever.
        finishTask(rt, t, "FAILED", error, null);
        continue;
      }
      const [d, s] = slotOf.get(slotKey(request.process_guid, request.index))!;
      s.placementError = error;
      s.restartAt = null;
      if (s.state !== "UNCLAIMED") setSlotState(rt, d, s, "UNCLAIMED", error);
    }
  }

  private taskOf(request: PlacementRequest) {
    return request.process_guid.startsWith(TASK_PREFIX) ? this.rt.tasks.get(request.process_guid.slice(TASK_PREFIX.length))! : undefined;
  }

  private wakeAt(at: number): void {
    this.stopWaking();
    if (!Number.isFinite(at)) return;
    this.cancelWake = this.rt.clock.setTimeout(() => this.converge(), Math.max(0, at - this.rt.clock.now()));
  }
}

function slotKey(processGuid: string, index: number): string {
  return `${processGuid}\u0000${index}`;
}
