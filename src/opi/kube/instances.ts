import type { Instance, InstanceState } from "../../model/index.ts";
import type { PodRecord } from "./projections.ts";

/**
 * Pod -> CF instance (DESIGN.md 6): Running+Ready is RUNNING; Pending is
 * CLAIMED, or UNCLAIMED with the scheduler's message; a crash loop, a
 * container that cannot be created or a terminated container is CRASHED.
 * An image that cannot be pulled is not a crash (nothing ran): the instance
 * stays CLAIMED (STARTING in CF) with the kubelet's reason and message as
 * its details, and no crash event is sent.
 */
/** The kubelet's waiting reasons for an image it cannot get (pkg/kubelet/images/types.go). */
export const PULL_ERRORS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable", "ErrImageInspect", "SignatureValidationFailed"]);
const START_ERRORS = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

/** "ErrImagePull: <kubelet message>" for a pod that cannot get its image, else "". `remembered` keeps the pull error behind a back-off line. */
export function pullFailure(p: PodRecord, remembered?: string): string {
  if (!PULL_ERRORS.has(p.waitingReason)) return "";
  if (p.waitingReason === "ImagePullBackOff" && remembered) return `ImagePullBackOff: ${remembered}`;
  return p.waitingMessage ? `${p.waitingReason}: ${p.waitingMessage}` : p.waitingReason;
}

export function podState(p: PodRecord): { state: InstanceState; reason: string } {
  if (p.waitingReason === "CrashLoopBackOff") return { state: "CRASHED", reason: p.lastExitReason || "CrashLoopBackOff" };
  if (PULL_ERRORS.has(p.waitingReason)) return { state: "CLAIMED", reason: pullFailure(p) };
  if (START_ERRORS.has(p.waitingReason)) return { state: "CRASHED", reason: p.waitingReason };
  switch (p.phase) {
    case "Pending":
      if (p.unschedulable) return { state: "UNCLAIMED", reason: p.unschedulable };
      return { state: "CLAIMED", reason: p.waitingReason };
    case "Running":
      if (p.exitCode !== null) return { state: "CRASHED", reason: p.exitReason || "Error" };
      return p.ready ? { state: "RUNNING", reason: "" } : { state: "CLAIMED", reason: "not ready" };
    case "Succeeded":
    case "Failed":
      return { state: "CRASHED", reason: p.exitReason || p.phase };
    default:
      return { state: "UNKNOWN", reason: p.phase };
  }
}

export function instanceOf(index: number, p: PodRecord | undefined, port: number, schedulingMessage: (pod: string) => string, now: () => number, pullMessage: (pod: PodRecord) => string = (pod) => pullFailure(pod)): Instance {
  if (!p || p.deleting) {
    return { index, since: Math.floor(now() / 1000), state: "UNCLAIMED", placement_error: "", crash_count: p?.restarts ?? 0, crash_reason: "", host: "", port: 0, instance_guid: "", cell: "" };
  }
  const { state, reason } = podState(p);
  const pull = pullMessage(p);
  return {
    ...(pull ? { details: pull } : {}),
    index,
    since: Math.max(1, state === "RUNNING" ? p.startedAt || p.createdAt : p.createdAt),
    state,
    placement_error: state === "UNCLAIMED" ? schedulingMessage(p.name) || p.unschedulable : "",
    crash_count: p.restarts,
    crash_reason: state === "CRASHED" ? reason : p.lastExitReason,
    host: p.ip,
    port: p.ip ? port : 0,
    instance_guid: p.uid,
    cell: p.node,
  };
}

export interface CrashInfo {
  reason: string;
  exit_status: number;
  exit_description: string;
  crash_count: number;
  at: number;
}

function describe(code: number, reason: string): string {
  return `APP/PROC/WEB: Exited with status ${code}${reason === "OOMKilled" ? " (out of memory)" : reason && reason !== "Error" ? ` (${reason})` : ""}`;
}

/** A new crash between two observations of the same pod, or null. */
export function crashBetween(old: PodRecord | undefined, p: PodRecord): CrashInfo | null {
  if (!old || old.uid !== p.uid) return null;
  // A kubelet may report a crash twice: first as the current terminated state, then as lastState after
  // the restart. The second is the same crash when the previous observation already showed it.
  if (p.restarts > old.restarts && p.lastExitCode !== null && old.exitCode === null) {
    return { reason: p.lastExitReason || "Error", exit_status: p.lastExitCode, exit_description: describe(p.lastExitCode, p.lastExitReason), crash_count: p.restarts, at: p.lastFinishedAt || Math.floor(Date.now() / 1000) };
  }
  if (p.exitCode !== null && old.exitCode === null) {
    return { reason: p.exitReason || "Error", exit_status: p.exitCode, exit_description: describe(p.exitCode, p.exitReason), crash_count: p.restarts + 1, at: Math.floor(Date.now() / 1000) };
  }
  if (START_ERRORS.has(p.waitingReason) && !START_ERRORS.has(old.waitingReason)) {
    return { reason: p.waitingReason, exit_status: -1, exit_description: `${p.waitingReason}: ${p.waitingMessage}`, crash_count: p.restarts + 1, at: Math.floor(Date.now() / 1000) };
  }
  return null;
}
