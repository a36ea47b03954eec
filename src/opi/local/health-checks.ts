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
      // With a readiness check, a new instance takes no traffic until that check passes.
      slot.ready = !needsReadiness(d);
      setSlotState(rt, d, slot, "RUNNING");
      cellLog(rt, d, slot, "Container became healthy");
      slot.timers.push(rt.clock.setTimeout(() => void liveness(rt, d, slot, gen), livenessPeriod(rt, d)));
      if (needsReadiness(d)) void readiness(rt, d, slot, gen);
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
  slot.timers.push(rt.clock.setTimeout(() => void liveness(rt, d, slot, gen), livenessPeriod(rt, d)));
}

/** CF's health check `interval` when the process sets one, else the backend's default period. */
function livenessPeriod(rt: Runtime, d: Desired): number {
  return d.lrp.health_check_interval_ms ?? rt.timing.livenessProbeMs;
}

/** A readiness check other than `process` (which is ready whenever it runs) gates routing. */
function needsReadiness(d: Desired): boolean {
  const r = d.lrp.readiness_health_check;
  return r !== undefined && r.type !== "process";
}

/**
 * CF's readiness check on a RUNNING instance: passing puts it in its routes,
 * failing takes it out; it never restarts the instance (that is liveness's job).
 */
async function readiness(rt: Runtime, d: Desired, slot: Slot, gen: number): Promise<void> {
  const handle = slot.handle;
  const r = d.lrp.readiness_health_check;
  if (gen !== slot.gen || !handle || rt.stopped || !r || slot.state !== "RUNNING") return;
  const first = primaryPort(d.lrp);
  const res = await rt.executor.probe(handle, { type: r.type, port: slot.ports.get(first) ?? first, path: r.http_endpoint || "/", timeoutMs: r.timeout_ms });
  if (gen !== slot.gen || rt.stopped || slot.state !== "RUNNING") return;
  if (res.ok !== slot.ready) {
    slot.ready = res.ok;
    rt.routes.invalidate();
    cellLog(rt, d, slot, res.ok
      ? "Container passed the readiness health check. Container marked ready and added to route pool."
      : `Container failed the readiness health check. Container marked not ready and removed from route pool. ${res.message}`);
  }
  slot.timers.push(rt.clock.setTimeout(() => void readiness(rt, d, slot, gen), r.interval_ms ?? rt.timing.livenessProbeMs));
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
