import type { LRP, LRPUpdate } from "../../model/index.ts";
import { relaunchSlot, stopSlot } from "./instance-stop.ts";
import type { Runtime } from "./runtime.ts";
import { newSlot, type Desired } from "./slot.ts";

/** Registers an LRP with its routes and unplaced slots; placement happens on the next converge. */
export function addDesired(rt: Runtime, lrp: LRP): Desired {
  const d: Desired = { lrp, slots: [] };
  rt.desired.set(lrp.process_guid, d);
  rt.routes.add(d);
  resizeSlots(rt, d, lrp.instances);
  return d;
}

/**
 * Applies an update in place. Routes, annotation and instance count change
 * live; a new lifecycle or image relaunches every instance. Resolves once the
 * instances it stops are gone.
 */
export async function updateDesired(rt: Runtime, d: Desired, u: LRPUpdate["update"]): Promise<void> {
  const next: LRP = { ...d.lrp };
  if (u.routes) next.routes = u.routes;
  if (u.annotation !== undefined) next.last_updated = u.annotation;
  let relaunch = false;
  if (u.lifecycle && JSON.stringify(u.lifecycle) !== JSON.stringify(d.lrp.lifecycle)) {
    next.lifecycle = u.lifecycle;
    relaunch = true;
  }
  if (u.image && "docker_lifecycle" in next.lifecycle && next.lifecycle.docker_lifecycle.image !== u.image) {
    next.lifecycle = { docker_lifecycle: { ...next.lifecycle.docker_lifecycle, image: u.image } };
    relaunch = true;
  }
  if (u.instances !== undefined) next.instances = u.instances;
  rt.state.saveLRP(next, rt.clock.now());
  rt.routes.remove(d);
  d.lrp = next;
  rt.routes.add(d);
  const stops = resizeSlots(rt, d, next.instances);
  if (relaunch) for (const slot of d.slots) stops.push(relaunchSlot(rt, d, slot));
  rt.converge();
  await Promise.all(stops);
}

/** Forgets an LRP and stops its instances, highest index first. */
export async function removeDesired(rt: Runtime, d: Desired): Promise<void> {
  rt.desired.delete(d.lrp.process_guid);
  rt.routes.remove(d);
  rt.state.deleteLRP(d.lrp.process_guid);
  await Promise.all([...d.slots].reverse().map((s) => stopSlot(rt, s, d)));
  rt.converge();
}

/** Grows or shrinks the slots; shrinking stops the highest indexes first. */
export function resizeSlots(rt: Runtime, d: Desired, n: number): Promise<void>[] {
  rt.routes.invalidate();
  while (d.slots.length < n) d.slots.push(newSlot(d.lrp, d.slots.length, rt.clock.now(), rt.executor.runsImages === true));
  const removed = d.slots.splice(n).reverse();
  return removed.map((s) => stopSlot(rt, s, d));
}
