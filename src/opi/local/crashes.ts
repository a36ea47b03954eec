import { cellLog } from "./cell-log.ts";
import type { ExitStatus } from "./executor.ts";
import { exitStatus, releaseProcess } from "./process-exit.ts";
import { restartDelay } from "./restart-policy.ts";
import type { Runtime } from "./runtime.ts";
import { cancelTimers, setSlotState, type Desired, type Slot } from "./slot.ts";

/** An instance's process ended on its own (or by a health-check kill): report it as a crash. */
export function onInstanceExit(rt: Runtime, d: Desired, slot: Slot, gen: number, exit: ExitStatus): void {
  if (gen !== slot.gen || rt.stopped) return;
  cancelTimers(slot);
  const handle = slot.handle;
  slot.handle = undefined;
  if (handle) void releaseProcess(rt, handle.record.guid);
  const status = exit.outOfMemory || exit.outOfDisk ? 137 : (exitStatus(exit) ?? -1);
  const kind = `APP/PROC/${d.lrp.process_type.toUpperCase()}`;
  const description = exit.outOfMemory
    ? `${kind}: Exited with status 137 (out of memory)`
    : exit.outOfDisk
      ? `${kind}: Exited with status 137 (disk quota exceeded)`
      : exit.code === null && !exit.signal
      ? `${kind}: Exited (status unknown: the process ended while the appliance was down)`
      : `${kind}: Exited with status ${status}`;
  const reason = exit.outOfMemory ? "out of memory" : exit.outOfDisk ? "disk quota exceeded" : (slot.killReason ?? description);
  cellLog(rt, d, slot, `Exit status ${status}${exit.outOfMemory ? " (out of memory)" : exit.outOfDisk ? " (disk quota exceeded)" : ""}`);
  cellLog(rt, d, slot, `Cell ${slot.cell} destroying container for instance ${slot.instanceGuid}`);
  recordCrash(rt, d, slot, status, reason, description);
}

/** Counts a crash and schedules the restart Diego's policy allows (none after too many). */
export function recordCrash(rt: Runtime, d: Desired, slot: Slot, status: number, reason: string, description: string): void {
  const now = rt.clock.now();
  if (slot.state === "RUNNING" && now - slot.runningSince >= rt.policy.crashResetMs) slot.crashCount = 0;
  slot.cell = "";
  slot.crashCount++;
  slot.crashReason = reason;
  const delay = restartDelay(rt.policy, slot.crashCount);
  slot.restartAt = delay === null ? null : now + delay;
  setSlotState(rt, d, slot, "CRASHED", reason);
  emitCrash(rt, d, slot, status, description);
  if (delay === null) rt.log.warn("instance crashed too often: giving up", { process_guid: d.lrp.process_guid, index: slot.index, crashes: slot.crashCount });
  rt.converge();
}

/** Restarting cannot help a start that can never work until the LRP changes: report it once and wait. */
export function recordBlocked(rt: Runtime, d: Desired, slot: Slot, message: string): void {
  slot.blocked = true;
  slot.crashReason = message;
  slot.crashCount++;
  setSlotState(rt, d, slot, "CRASHED", message);
  emitCrash(rt, d, slot, -1, message);
  rt.converge();
}

function emitCrash(rt: Runtime, d: Desired, slot: Slot, status: number, description: string): void {
  rt.events.emit({
    type: "crash",
    process_guid: d.lrp.process_guid,
    instance: slot.instanceGuid,
    index: slot.index,
    reason: slot.crashReason,
    exit_status: status,
    exit_description: description,
    crash_count: slot.crashCount,
    crash_timestamp: rt.clock.now() * 1_000_000,
  });
}
