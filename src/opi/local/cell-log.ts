import type { Runtime } from "./runtime.ts";
import type { Desired, Slot } from "./slot.ts";

/**
 * `[CELL/<index>]` lines in the app's log, as a Diego cell writes them when
 * it creates, checks, stops and destroys an instance's container (`cf logs`
 * shows them between the app's own output). The local backend is the cell.
 */
export function cellLog(rt: Pick<Runtime, "logs">, d: Desired, slot: Slot, message: string): void {
  rt.logs?.append({
    source_id: d.lrp.app_guid,
    source_type: "CELL",
    instance_id: String(slot.index),
    stream: "OUT",
    message,
    // Wall time, as the executor stamps the app's own lines: the two interleave in one timeline.
    timestamp: BigInt(Date.now()) * 1_000_000n,
  });
}
