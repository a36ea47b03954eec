import { cellLog } from "./cell-log.ts";
import type { ProcessHandle } from "./executor.ts";
import type { Runtime } from "./runtime.ts";
import { primaryPort, setSlotState, type Desired, type Slot } from "./slot.ts";

/**
 * Probes a CLAIMED instance until it answers (then RUNNING, with liveness
 * probes from then on) or its start timeout passes (then it is killed). A
 * probe that returns after a stop or restart (`gen` moved on) is ignored.
 */
export function probeUntilHealthy(rt: Runtime, d: Desired, slot: Slot, gen: number, deadline: number): void {
  const tick = async () => {
    const handle = slot.handle;
    if (gen !== slot.gen || !handle || rt.stopped) return;
    const res = await rt.executor.probe(handle, probeSpec(d, slot));
    if (gen !== slot.gen || slot.state !== "CLAIMED" || rt.stopped) return;
    if (res.ok) {
      slot.runningSince = rt.clock.now();
      slot.placementError = "";
      setSlotState(rt, d, slot, "RUNNING");
      cellLog(rt, d, slot, "Container became healthy");
      slot.timers.push(rt.clock.setTimeout(() => void liveness(rt, d, slot, gen), rt.timing.livenessProbeMs));
      return;
    }
    if (rt.clock.now() >= deadline) {
      const secs = Math.round(d.lrp.start_timeout_ms / 1000);
      kill(rt, slot, handle, `Instance never healthy after ${secs}s: ${res.message}`);
      return;
    }
    slot.timers.push(rt.clock.setTimeout(() => void tick(), rt.timing.startupProbeMs));
  };
  void tick();
}

async function liveness(rt: Runtime, d: Desired, slot: Slot, gen: number): Promise<void> {
  const handle = slot.handle;
  if (gen !== slot.gen || !handle || rt.stopped) return;
  const res = await rt.executor.probe(handle, probeSpec(d, slot));
  if (gen !== slot.gen || rt.stopped) return;
  if (!res.ok) return kill(rt, slot, handle, `health check failed: ${res.message}`);
  slot.timers.push(rt.clock.setTimeout(() => void liveness(rt, d, slot, gen), rt.timing.livenessProbeMs));
}

function probeSpec(d: Desired, slot: Slot) {
  const first = primaryPort(d.lrp);
  return { type: d.lrp.health_check_type, port: slot.ports.get(first) ?? first, path: d.lrp.health_check_http_endpoint || "/", timeoutMs: d.lrp.health_check_timeout_ms || 1000 };
}

/** Kills an unhealthy instance at once; its exit is then reported as a crash with `reason`. */
function kill(rt: Runtime, slot: Slot, handle: ProcessHandle, reason: string): void {
  slot.killReason = reason;
  void rt.executor.stop(handle, 0);
}
