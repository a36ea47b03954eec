import type { InstanceState, LRP } from "../../model/index.ts";
import type { ProcessHandle } from "./executor.ts";
import type { Runtime } from "./runtime.ts";

/** One instance index of a desired LRP; it outlives the processes that run it. */
export interface Slot {
  index: number;
  state: InstanceState;
  since: number;
  placementError: string;
  crashCount: number;
  crashReason: string;
  cell: string;
  instanceGuid: string;
  ports: Map<number, number>;
  handle?: ProcessHandle;
  starting?: Promise<void>;
  /** Bumped on every start and stop: callbacks from an older generation are ignored. */
  gen: number;
  runningSince: number;
  /** When a crashed instance may be placed again; null = not restarting. */
  restartAt: number | null;
  /** A start that can never work as desired (missing droplet, no start command): wait for an update. */
  blocked: boolean;
  /** Why the health check killed it, reported as the crash reason. */
  killReason?: string;
  timers: (() => void)[];
}

export interface Desired {
  lrp: LRP;
  slots: Slot[];
}

const DOCKER_UNSUPPORTED = "found no compatible cell: docker images cannot run on the local backend (no container runtime); push with a buildpack or use --backend kube";

/** The app port when the LRP names none, as CF assumes. */
export function primaryPort(lrp: LRP): number {
  return lrp.ports[0] ?? 8080;
}

/**
 * Docker LRPs wait unplaced with a reason rather than crash-looping when the
 * executor cannot run images (no update short of a new lifecycle can help).
 */
export function placeability(lrp: LRP, runsImages = false): { blocked: boolean; placementError: string } {
  const docker = "docker_lifecycle" in lrp.lifecycle && !runsImages;
  return { blocked: docker, placementError: docker ? DOCKER_UNSUPPORTED : "" };
}

export function newSlot(lrp: LRP, index: number, now: number, runsImages = false): Slot {
  return {
    index,
    state: "UNCLAIMED",
    since: now,
    ...placeability(lrp, runsImages),
    crashCount: 0,
    crashReason: "",
    cell: "",
    instanceGuid: "",
    ports: new Map(),
    gen: 0,
    runningSince: 0,
    restartAt: null,
    timers: [],
  };
}

/** Every state change drops cached route targets and is announced, so the two never disagree. */
export function setSlotState(rt: Pick<Runtime, "routes" | "clock" | "events">, d: Desired, slot: Slot, state: InstanceState, reason = ""): void {
  if (slot.state === state) return;
  rt.routes.invalidate();
  slot.state = state;
  slot.since = rt.clock.now();
  rt.events.emit({ type: "instance_state", process_guid: d.lrp.process_guid, index: slot.index, state, reason, at: slot.since });
}

export function cancelTimers(slot: Slot): void {
  for (const c of slot.timers.splice(0)) c();
}
