import { StagingError } from "../../st8ge/index.ts";
import type { Obj } from "./client.ts";

/**
 * What a staging pod's status says about the staging: still going,
 * finished, or failed with a reason a user can act on. Decided from the pod
 * alone, so the executor can fail fast (a pull error or an unschedulable pod
 * never fixes itself within a staging's time).
 */
export type PodVerdict =
  | { kind: "waiting" }
  | { kind: "succeeded" }
  /** The lifecycle (or the pod script) exited non-zero: the staging result says why, if it came. */
  | { kind: "exited"; exitCode: number }
  | { kind: "failed"; error: StagingError };

const MB = 1024 * 1024;
const BAD_IMAGE = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

export function memoryLimitError(bytes: number): StagingError {
  return new StagingError("InsufficientResources", `staging exceeded its memory limit of ${Math.round(bytes / MB)} MB`);
}

export function diskLimitError(bytes: number): StagingError {
  return new StagingError("InsufficientResources", `staging exceeded its disk limit of ${Math.round(bytes / MB)} MB`);
}

export function timeoutError(ms: number): StagingError {
  return new StagingError("StagingTimeExpired", `staging exceeded its time limit of ${Math.round(ms / 1000)} s`);
}

export function stagingPodVerdict(pod: Obj, limits: { timeoutMs: number; memoryBytes: number; diskBytes: number }): PodVerdict {
  const st = pod.status ?? {};
  const c = (st.containerStatuses ?? [])[0] as Obj | undefined;
  const term = c?.state?.terminated as Obj | undefined;
  if (st.reason === "Evicted") return { kind: "failed", error: /ephemeral|storage/i.test(String(st.message)) ? diskLimitError(limits.diskBytes) : new StagingError("InsufficientResources", `staging pod was evicted: ${st.message ?? "no reason given"}`) };
  if (st.reason === "DeadlineExceeded") return { kind: "failed", error: timeoutError(limits.timeoutMs) };
  if (term?.reason === "OOMKilled") return { kind: "failed", error: memoryLimitError(limits.memoryBytes) };
  if (st.phase === "Succeeded") return { kind: "succeeded" };
  if (term && term.exitCode !== 0) return { kind: "exited", exitCode: Number(term.exitCode) };
  if (st.phase === "Failed") return { kind: "failed", error: new StagingError("StagerError", `staging pod failed${st.reason ? `: ${st.reason}` : ""}${st.message ? ` (${st.message})` : ""}`) };
  const waiting = c?.state?.waiting as Obj | undefined;
  if (waiting && BAD_IMAGE.has(String(waiting.reason))) {
    return { kind: "failed", error: new StagingError("StagerError", `staging image ${c?.image ?? pod.spec?.containers?.[0]?.image} cannot be run: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`) };
  }
  const sched = (st.conditions ?? []).find((x: Obj) => x.type === "PodScheduled");
  if (sched?.status === "False" && sched.reason === "Unschedulable") {
    return { kind: "failed", error: new StagingError("InsufficientResources", `no node can run the staging pod: ${sched.message ?? "unschedulable"}`) };
  }
  return { kind: "waiting" };
}
