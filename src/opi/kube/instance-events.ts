import type { OpiEvent } from "../../model/index.ts";
import { crashBetween, podState, pullFailure, PULL_ERRORS } from "./instances.ts";
import type { EventRecord, PodRecord } from "./projections.ts";

/**
 * App pods -> OPI events: one `crash` per crash (a restart or a terminated
 * container, never an image pull failure) and one `instance_state` per
 * change of state or of pull failure. Remembers, per pod, the scheduler's
 * last FailedScheduling message and the kubelet's last pull error (an
 * ImagePullBackOff line only says "Back-off pulling image": the reason is
 * in the ErrImagePull before it).
 */
export class InstanceEvents {
  private readonly lastStates = new Map<string, string>();
  private readonly scheduling = new Map<string, string>();
  private readonly pullErrors = new Map<string, string>();

  constructor(
    private readonly emit: (e: OpiEvent) => void,
    private readonly now: () => number,
  ) {}

  /** The scheduler's message for a pod (FailedScheduling events). */
  schedulingMessage(pod: string): string {
    return this.scheduling.get(pod) ?? "";
  }

  onSchedulingEvent(type: string, rec: EventRecord): void {
    if (type !== "deleted") this.scheduling.set(rec.podName, rec.message);
  }

  /** "ErrImagePull: <the kubelet's message>" while the pod cannot get its image, else "". */
  pullMessage(p: PodRecord): string {
    return pullFailure(p, this.pullErrors.get(p.uid));
  }

  /** Pods beyond a scale-down are gone: their next incarnation starts fresh. */
  forget(podName: string): void {
    this.lastStates.delete(podName);
  }

  onPod(type: string, rec: PodRecord, old: PodRecord | undefined): void {
    if (!rec.processGuid || rec.index < 0) return;
    if (type === "deleted") {
      this.lastStates.delete(rec.name);
      this.scheduling.delete(rec.name);
      this.pullErrors.delete(rec.uid);
      return;
    }
    if (PULL_ERRORS.has(rec.waitingReason) && rec.waitingReason !== "ImagePullBackOff" && rec.waitingMessage) this.pullErrors.set(rec.uid, rec.waitingMessage);
    else if (!PULL_ERRORS.has(rec.waitingReason)) this.pullErrors.delete(rec.uid);
    const crash = crashBetween(old, rec);
    if (crash) {
      this.emit({
        type: "crash",
        process_guid: rec.processGuid,
        instance: rec.uid,
        index: rec.index,
        reason: crash.reason,
        exit_status: crash.exit_status,
        exit_description: crash.exit_description,
        crash_count: crash.crash_count,
        crash_timestamp: crash.at * 1e9,
      });
    }
    const { state, reason } = podState(rec);
    const pull = this.pullMessage(rec);
    // A pull error that turns into a back-off is the same failure: one event, not one per retry.
    const key = `${rec.uid}:${state}:${pull ? "pull" : ""}`;
    if (this.lastStates.get(rec.name) === key) return;
    this.lastStates.set(rec.name, key);
    this.emit({ type: "instance_state", process_guid: rec.processGuid, index: rec.index, state, reason: state === "UNCLAIMED" ? this.scheduling.get(rec.name) || reason : pull || reason, at: this.now() });
  }
}
