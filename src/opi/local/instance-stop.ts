import { cellLog } from "./cell-log.ts";
import { releaseProcess } from "./process-exit.ts";
import type { Runtime } from "./runtime.ts";
import { cancelTimers, placeability, setSlotState, type Desired, type Slot } from "./slot.ts";

/** Stops a slot's process (SIGTERM, then SIGKILL after the grace) and frees its cell; the slot stays. */
export async function stopSlot(rt: Runtime, slot: Slot, d?: Desired): Promise<void> {
  slot.gen++;
  cancelTimers(slot);
  const handle = slot.handle;
  slot.handle = undefined;
  const guid = slot.instanceGuid;
  if (d && handle) cellLog(rt, d, slot, `Cell ${slot.cell} stopping instance ${guid}`);
  // A start in flight sees the new generation and ends its own process; wait so the cell is really free.
  await slot.starting?.catch(() => {});
  if (handle) {
    await rt.executor.stop(handle, rt.timing.stopGraceMs).catch((err: unknown) => rt.log.warn("stop failed", { guid: handle.record.guid, error: err }));
    await releaseProcess(rt, handle.record.guid);
    if (d) cellLog(rt, d, slot, `Cell ${slot.cell} successfully destroyed container for instance ${guid}`);
  }
  slot.cell = "";
}

/** Stops a slot and puts it back in the queue as new: a fresh start with the LRP as it now is. */
export async function relaunchSlot(rt: Runtime, d: Desired, slot: Slot): Promise<void> {
  await stopSlot(rt, slot, d);
  Object.assign(slot, placeability(d.lrp, rt.executor.runsImages === true));
  slot.restartAt = null;
  setSlotState(rt, d, slot, "UNCLAIMED");
}
