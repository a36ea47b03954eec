import type { LocalPodRunner } from "./local-pods.ts";
import type { ObjectStore, Obj, StoredEvent } from "./object-store.ts";
import { PodLogs, type LogQuery } from "./pod-logs.ts";
import { resources } from "./resources.ts";
import { fromLabelSelector, matches } from "./selector.ts";
import { ApiError } from "./status.ts";
import { validate } from "./validation.ts";

/**
 * What a controller-manager and kubelets would do, under test control:
 * StatefulSet -> pods `<name>-<ordinal>` (all at once, rolling updates from
 * the highest ordinal), Job -> pod (retries up to backoffLimit), the garbage
 * collector (ownerReferences, Background/Foreground/Orphan), a scheduler
 * that binds to nodes or records `FailedScheduling`, and kubelets that run
 * pods to Ready, crash them with exit codes (CrashLoopBackOff), fail image
 * pulls (ErrImagePull) and finish job pods, or really run a pod's command
 * on this machine (`run-locally`, see local-pods.ts). Jobs honour
 * `activeDeadlineSeconds`. Pod fate is chosen by `behavior(pod)`; tests can
 * also act on pods directly.
 */
export type PodFate =
  | { kind: "ready" }
  | { kind: "pending" }
  | { kind: "running-not-ready" }
  | { kind: "unschedulable"; message: string }
  | { kind: "image-pull-error"; message?: string }
  | { kind: "crash"; exitCode: number; reason?: string }
  | { kind: "exit"; exitCode: number; reason?: string }
  | { kind: "run-locally" };

const R = (name: string) => resources.get(name)!;
const POD = R("pods");
const STS = R("statefulsets");
const JOB = R("jobs");
const EVENT = R("events");

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function hash10(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return (h.toString(36) + "0000000000").slice(0, 10).replace(/[^a-z0-9]/g, "x");
}

const isReady = (p: Obj) => (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");

export class ClusterSim {
  nodes = ["node-1", "node-2", "node-3"];
  /** Decides what the scheduler and kubelet do with a new pod. */
  behavior: (pod: Obj) => PodFate = (pod) => (pod.metadata.labels?.["job-name"] ? { kind: "exit", exitCode: 0 } : { kind: "ready" });
  /** False: pods stay as created until a test acts on them. */
  autoRun = true;
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private nextNode = 0;
  private ipCounter = 0;
  readonly logs = new PodLogs();
  private stopped = false;
  private readonly deadlines = new Map<string, ReturnType<typeof setTimeout>>();
  /** Runs `run-locally` pods (set when the emulator is started with `runPodsLocally`). */
  localPods: LocalPodRunner | undefined;
  readonly failures: string[] = [];

  constructor(private readonly store: ObjectStore) {
    store.onChange((e) => this.observe(e));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.deadlines.values()) clearTimeout(t);
    this.localPods?.stop();
  }

  private observe(e: StoredEvent): void {
    if (this.stopped) return;
    const o = e.object;
    if (e.resource === "statefulsets" || e.resource === "jobs") this.mark(`${e.resource} ${e.namespace}/${o.metadata.name}`);
    if (e.resource === "pods") {
      for (const ref of o.metadata.ownerReferences ?? []) {
        if (ref.kind === "StatefulSet") this.mark(`statefulsets ${e.namespace}/${ref.name}`);
        if (ref.kind === "Job") this.mark(`jobs ${e.namespace}/${ref.name}`);
      }
      if (e.type === "ADDED" && this.autoRun) this.mark(`kubelet ${e.namespace}/${o.metadata.name}`);
      if (e.type === "DELETED") {
        this.localPods?.kill(`${e.namespace}/${o.metadata.name}`);
        this.logs.forget(`${e.namespace}/${o.metadata.name}`);
      }
    }
    if (e.type === "ADDED") for (const ref of o.metadata.ownerReferences ?? []) if (!this.store.hasUid(ref.uid)) this.mark(`orphan ${e.resource} ${e.namespace}/${o.metadata.name}`);
  }

  private mark(key: string): void {
    this.dirty.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.drain(), 0);
    }
  }

  /** Runs every pending controller step now (tests rarely need this; steps also run on their own). */
  drain(): void {
    this.scheduled = false;
    let guard = 0;
    while (this.dirty.size > 0 && guard++ < 100_000 && !this.stopped) {
      const key = this.dirty.values().next().value as string;
      this.dirty.delete(key);
      try {
        this.step(key);
      } catch (err) {
        this.failures.push(`${key}: ${(err as Error).message}`);
      }
    }
  }

  private step(key: string): void {
    const [kind, rest, extra] = key.split(" ");
    const [ns, name] = (extra ?? rest!).split("/") as [string, string];
    if (kind === "statefulsets") this.syncStatefulSet(ns, name);
    else if (kind === "jobs") this.syncJob(ns, name);
    else if (kind === "kubelet") this.startPod(ns, name);
    else if (kind === "orphan") {
      const info = R(rest!);
      const o = this.store.get(info, ns, name);
      if (o && (o.metadata.ownerReferences ?? []).some((r: Obj) => !this.store.hasUid(r.uid))) this.store.delete(info, ns, name);
    }
  }

  /** Garbage collection after an owner is deleted. */
  collect(ns: string, owner: Obj, propagation: string): void {
    for (const { resource, obj } of this.store.dependents(owner.metadata.uid)) {
      const info = R(resource);
      if (propagation === "Orphan") {
        const next = structuredClone(obj);
        next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((r: Obj) => r.uid !== owner.metadata.uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.store.replace(info, obj.metadata.namespace ?? ns, obj.metadata.name, next);
      } else {
        const gone = this.store.delete(info, obj.metadata.namespace ?? ns, obj.metadata.name);
        this.collect(ns, gone, "Background");
      }
    }
  }

  private event(ns: string, pod: Obj, type: string, reason: string, message: string, component: string): void {
    const name = `${pod.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`;
    this.store.create(EVENT, ns, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: ns },
      involvedObject: { kind: pod.kind ?? "Pod", namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: pod.apiVersion ?? "v1" },
      reason,
      message,
      type,
      source: { component },
      count: 1,
      firstTimestamp: now(),
      lastTimestamp: now(),
      reportingComponent: component,
    });
  }

  private revision(sts: Obj): string {
    return `${sts.metadata.name}-${hash10(JSON.stringify(sts.spec.template))}`;
  }

  private syncStatefulSet(ns: string, name: string): void {
    const sts = this.store.get(STS, ns, name);
    if (!sts) return;
    const sel = fromLabelSelector(sts.spec.selector);
    const owned = this.store
      .dependents(sts.metadata.uid)
      .filter((d) => d.resource === "pods" && matches(sel, d.obj.metadata.labels))
      .map((d) => d.obj);
    const replicas: number = sts.spec.replicas ?? 1;
    const rev = this.revision(sts);
    const byOrdinal = new Map<number, Obj>();
    for (const p of owned) byOrdinal.set(Number(p.metadata.name.slice(name.length + 1)), p);
    // Scale down: ordinals past replicas go (all at once with Parallel).
    for (const [ord, p] of byOrdinal) {
      if (ord >= replicas) {
        this.store.delete(POD, ns, p.metadata.name);
        byOrdinal.delete(ord);
      }
    }
    // Scale up: missing ordinals are created.
    for (let ord = 0; ord < replicas; ord++) {
      if (byOrdinal.has(ord)) continue;
      const pod = this.podFor(sts, ord, rev);
      const errors = validate(POD, pod);
      if (errors.length > 0) {
        this.event(ns, sts, "Warning", "FailedCreate", `create Pod ${pod.metadata.name} in StatefulSet ${name} failed error: Pod "${pod.metadata.name}" is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join(", ")}`, "statefulset-controller");
        continue;
      }
      try {
        byOrdinal.set(ord, this.store.create(POD, ns, pod));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
      }
      if (sts.spec.podManagementPolicy !== "Parallel") break;
    }
    // Rolling update from the highest ordinal: delete one outdated pod, wait for updated ones to be ready.
    if ((sts.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      for (let ord = replicas - 1; ord >= 0; ord--) {
        const p = byOrdinal.get(ord);
        if (!p) break;
        if (p.metadata.labels?.["controller-revision-hash"] !== rev) {
          this.store.delete(POD, ns, p.metadata.name);
          this.mark(`statefulsets ${ns}/${name}`);
          break;
        }
        if (!isReady(p)) break;
      }
    }
    const pods = [...byOrdinal.values()].map((p) => this.store.get(POD, ns, p.metadata.name)).filter(Boolean) as Obj[];
    const updated = pods.filter((p) => p.metadata.labels?.["controller-revision-hash"] === rev).length;
    const status = {
      observedGeneration: sts.metadata.generation,
      replicas: pods.length,
      readyReplicas: pods.filter(isReady).length,
      availableReplicas: pods.filter(isReady).length,
      currentReplicas: updated,
      updatedReplicas: updated,
      currentRevision: updated === pods.length ? rev : (sts.status?.currentRevision ?? rev),
      updateRevision: rev,
      collisionCount: 0,
    };
    if (JSON.stringify(status) !== JSON.stringify(sts.status)) this.store.replace(STS, ns, name, { ...sts, status });
  }

  private podFor(sts: Obj, ord: number, rev: string): Obj {
    const t = structuredClone(sts.spec.template);
    const podName = `${sts.metadata.name}-${ord}`;
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        ...t.metadata,
        name: podName,
        namespace: sts.metadata.namespace,
        labels: { ...t.metadata?.labels, "controller-revision-hash": rev, "statefulset.kubernetes.io/pod-name": podName, "apps.kubernetes.io/pod-index": String(ord) },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: sts.metadata.name, uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...t.spec, hostname: podName, ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}) },
      status: { phase: "Pending", qosClass: "Burstable" },
    };
  }

  private syncJob(ns: string, name: string): void {
    const job = this.store.get(JOB, ns, name);
    if (!job || job.spec.suspend) return;
    const done = (job.status?.conditions ?? []).some((c: Obj) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
    const pods = this.store
      .dependents(job.metadata.uid)
      .filter((d) => d.resource === "pods")
      .map((d) => d.obj);
    const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
    const failed = pods.filter((p) => p.status?.phase === "Failed").length;
    const active = pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed" && !p.metadata.deletionTimestamp).length;
    const status: Obj = { ...job.status, startTime: job.status?.startTime ?? now(), active: active || undefined, succeeded: succeeded || undefined, failed: failed || undefined };
    const deadlineLeft = typeof job.spec.activeDeadlineSeconds === "number" ? Date.parse(status.startTime) + job.spec.activeDeadlineSeconds * 1000 - Date.now() : Infinity;
    if (!done && !job.spec.suspend) {
      if (deadlineLeft <= 0 && succeeded < (job.spec.completions ?? 1)) {
        status.conditions = [
          { type: "FailureTarget", status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline", lastTransitionTime: now(), lastProbeTime: now() },
          { type: "Failed", status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline", lastTransitionTime: now(), lastProbeTime: now() },
        ];
        for (const p of pods) if (p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded") this.store.delete(POD, ns, p.metadata.name);
        status.active = undefined;
      } else if (succeeded >= (job.spec.completions ?? 1)) {
        status.completionTime = now();
        status.conditions = [
          { type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastTransitionTime: now(), lastProbeTime: now() },
          { type: "Complete", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastTransitionTime: now(), lastProbeTime: now() },
        ];
      } else if (failed > (job.spec.backoffLimit ?? 6)) {
        status.conditions = [
          { type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", lastTransitionTime: now(), lastProbeTime: now() },
          { type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", lastTransitionTime: now(), lastProbeTime: now() },
        ];
        for (const p of pods) if (p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded") this.store.delete(POD, ns, p.metadata.name);
        status.active = undefined;
      } else if (active === 0) {
        const t = structuredClone(job.spec.template);
        const pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            ...t.metadata,
            name: `${name}-${Math.random().toString(36).slice(2, 7)}`,
            namespace: ns,
            ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: t.spec,
          status: { phase: "Pending" },
        };
        this.store.create(POD, ns, pod);
        status.active = 1;
      }
    }
    for (const k of Object.keys(status)) if (status[k] === undefined) delete status[k];
    if (JSON.stringify(status) !== JSON.stringify(job.status)) this.store.replace(JOB, ns, name, { ...job, status });
    const key = `jobs ${ns}/${name}`;
    if (!done && Number.isFinite(deadlineLeft) && deadlineLeft > 0 && !this.deadlines.has(key)) {
      const t = setTimeout(() => (this.deadlines.delete(key), this.mark(key)), deadlineLeft);
      t.unref?.();
      this.deadlines.set(key, t);
    }
  }

  private update(ns: string, name: string, fn: (pod: Obj) => void): Obj | undefined {
    const pod = this.store.get(POD, ns, name);
    if (!pod) return undefined;
    const next = structuredClone(pod);
    next.status ??= {};
    fn(next);
    return this.store.replace(POD, ns, name, next);
  }

  private containerName(pod: Obj): string {
    return pod.spec?.containers?.[0]?.name ?? "main";
  }

  private startPod(ns: string, name: string): void {
    const pod = this.store.get(POD, ns, name);
    if (!pod || pod.spec?.nodeName) return;
    const fate = this.behavior(pod);
    if (fate.kind === "pending") return;
    if (fate.kind === "unschedulable") return this.unschedulable(ns, name, fate.message);
    this.bind(ns, name);
    if (fate.kind === "image-pull-error") return this.imagePullError(ns, name, fate.message);
    if (fate.kind === "run-locally") return this.runLocally(ns, name);
    this.run(ns, name, fate.kind !== "running-not-ready");
    if (fate.kind === "crash") this.crash(ns, name, { exitCode: fate.exitCode, reason: fate.reason });
    if (fate.kind === "exit") this.exit(ns, name, fate.exitCode, fate.reason);
  }

  /** The scheduler finds no node: pod stays Pending with a FailedScheduling event. */
  unschedulable(ns: string, name: string, message: string): void {
    const pod = this.update(ns, name, (p) => {
      p.status.phase = "Pending";
      p.status.conditions = [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null, lastTransitionTime: now() }];
    });
    if (pod) this.event(ns, pod, "Warning", "FailedScheduling", message, "default-scheduler");
  }

  bind(ns: string, name: string): void {
    const pod = this.store.get(POD, ns, name);
    if (!pod) return;
    const next = structuredClone(pod);
    next.spec.nodeName = pod.spec.nodeSelector?.["kubernetes.io/hostname"] ?? this.nodes[this.nextNode++ % this.nodes.length];
    next.status = { ...next.status, phase: "Pending", conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: now() }] };
    this.store.replace(POD, ns, name, next);
    this.event(ns, next, "Normal", "Scheduled", `Successfully assigned ${ns}/${name} to ${next.spec.nodeName}`, "default-scheduler");
  }

  /**
   * The kubelet cannot get the image: as pkg/kubelet/images/image_manager.go
   * reports it. A reference that does not parse is InvalidImageName (never
   * retried); a failed pull is ErrImagePull with containerd's error, a
   * "Failed" Warning event, then ImagePullBackOff ("Back-off pulling image")
   * with a "BackOff" event while the kubelet waits to retry.
   */
  imagePullError(ns: string, name: string, message?: string): void {
    const pod = this.store.get(POD, ns, name);
    const image = String(pod?.spec?.containers?.[0]?.image ?? "");
    // docker/distribution's reference grammar: lower-case repository, optional tag or digest.
    const valid = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/.test(image);
    const waiting = (reason: string, msg: string) =>
      this.update(ns, name, (p) => {
        p.status.phase = "Pending";
        p.status.containerStatuses = [{ name: this.containerName(p), image, imageID: "", ready: false, restartCount: 0, started: false, state: { waiting: { reason, message: msg } }, lastState: {} }];
      });
    if (!valid) {
      const msg = `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": invalid reference format`;
      const p = waiting("InvalidImageName", msg);
      if (p) this.event(ns, p, "Warning", "InspectFailed", msg, "kubelet");
      return;
    }
    const pullMsg = `rpc error: code = Unknown desc = failed to pull and unpack image "${image}": ${message ?? "not found"}`;
    const p = waiting("ErrImagePull", pullMsg);
    if (!p) return;
    this.event(ns, p, "Warning", "Failed", `Failed to pull image "${image}": ${pullMsg}`, "kubelet");
    const t = setTimeout(() => {
      const again = waiting("ImagePullBackOff", `Back-off pulling image "${image}"`);
      if (again) this.event(ns, again, "Normal", "BackOff", `Back-off pulling image "${image}"`, "kubelet");
    }, 30);
    t.unref?.();
  }

  /** Container started; ready unless told otherwise (readiness probe failing). */
  run(ns: string, name: string, ready = true): Obj | undefined {
    return this.update(ns, name, (p) => {
      const prev = p.status.containerStatuses?.[0];
      p.status.phase = "Running";
      p.status.podIP ??= `10.244.${Math.floor(++this.ipCounter / 250) % 250}.${(this.ipCounter % 250) + 1}`;
      p.status.podIPs = [{ ip: p.status.podIP }];
      p.status.hostIP = "172.18.0.2";
      p.status.startTime ??= now();
      p.status.conditions = [
        { type: "PodScheduled", status: "True", lastTransitionTime: now() },
        { type: "Initialized", status: "True", lastTransitionTime: now() },
        { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: now() },
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now() },
      ];
      p.status.containerStatuses = [
        { name: this.containerName(p), image: p.spec.containers?.[0]?.image, imageID: "sha256:0", ready, started: true, restartCount: prev?.restartCount ?? 0, state: { running: { startedAt: now() } }, lastState: prev?.lastState ?? {} },
      ];
    });
  }

  setReady(ns: string, name: string, ready: boolean): void {
    this.run(ns, name, ready);
  }

  /** The container exits non-zero and is restarted with back-off (CrashLoopBackOff). */
  crash(ns: string, name: string, opts: { exitCode?: number; reason?: string; backoff?: boolean } = {}): void {
    const before = this.store.get(POD, ns, name)?.status?.containerStatuses?.[0] ?? {};
    const exitCode = opts.exitCode ?? 1;
    const terminated = { exitCode, reason: opts.reason ?? (exitCode === 137 ? "OOMKilled" : "Error"), startedAt: before.state?.running?.startedAt ?? now(), finishedAt: now(), containerID: "containerd://0" };
    // A kubelet's status sync usually sees the dead container first (state.terminated, same
    // restartCount), then the restart (restartCount + 1, lastState.terminated): one crash, two updates.
    this.update(ns, name, (p) => {
      p.status.conditions = (p.status.conditions ?? []).map((c: Obj) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False", lastTransitionTime: now() } : c));
      p.status.containerStatuses = [{ ...before, name: this.containerName(p), ready: false, started: false, restartCount: before.restartCount ?? 0, state: { terminated } }];
    });
    this.logs.restart(`${ns}/${name}`);
    this.update(ns, name, (p) => {
      const prev = before;
      p.status.phase = "Running";
      p.status.conditions = (p.status.conditions ?? []).map((c: Obj) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False", lastTransitionTime: now() } : c));
      p.status.containerStatuses = [
        {
          name: this.containerName(p),
          image: p.spec.containers?.[0]?.image,
          imageID: "sha256:0",
          ready: false,
          started: false,
          restartCount: (prev.restartCount ?? 0) + 1,
          state: opts.backoff === false ? { running: { startedAt: now() } } : { waiting: { reason: "CrashLoopBackOff", message: `back-off 10s restarting failed container=${this.containerName(p)} pod=${name}` } },
          lastState: { terminated },
        },
      ];
    });
  }

  /** A job pod's container ends with `exitCode` (phase Succeeded or Failed). */
  exit(ns: string, name: string, exitCode: number, reason?: string): void {
    this.update(ns, name, (p) => {
      p.status.phase = exitCode === 0 ? "Succeeded" : "Failed";
      p.status.conditions = (p.status.conditions ?? []).map((c: Obj) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False" } : c));
      p.status.containerStatuses = [
        { name: this.containerName(p), image: p.spec.containers?.[0]?.image, imageID: "sha256:0", ready: false, started: false, restartCount: 0, state: { terminated: { exitCode, reason: reason ?? (exitCode === 0 ? "Completed" : "Error"), finishedAt: now() } }, lastState: {} },
      ];
    });
    this.logs.terminate(`${ns}/${name}`);
  }

  private runLocally(ns: string, name: string): void {
    const runner = this.localPods;
    if (!runner) throw new Error("run-locally needs an emulator started with runPodsLocally");
    const pod = this.run(ns, name, true);
    if (!pod) return;
    runner.start(`${ns}/${name}`, pod, {
      output: (text) => this.appendLog(ns, name, text),
      exited: (code, reason) => this.exit(ns, name, code, reason),
      evicted: (message) => this.evict(ns, name, message),
    });
  }

  /** The kubelet evicts the pod (e.g. ephemeral storage over its limit): phase Failed, reason Evicted. */
  evict(ns: string, name: string, message: string): void {
    this.update(ns, name, (p) => {
      p.status.phase = "Failed";
      p.status.reason = "Evicted";
      p.status.message = message;
      p.status.containerStatuses = [
        { name: this.containerName(p), image: p.spec.containers?.[0]?.image, imageID: "sha256:0", ready: false, started: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: "ContainerStatusUnknown", finishedAt: now() } }, lastState: {} },
      ];
    });
    this.appendLog(ns, name, "", true);
  }

  /** Appends log text for a pod's current container (served by `GET .../pods/<name>/log`). */
  appendLog(ns: string, name: string, text: string, done = false): void {
    this.logs.append(`${ns}/${name}`, text);
    if (done) this.logs.terminate(`${ns}/${name}`);
  }

  logStream(ns: string, name: string, q: LogQuery, signal: AbortSignal): ReadableStream<Uint8Array> | null {
    const pod = this.store.get(POD, ns, name);
    if (!pod || (!pod.status?.containerStatuses && pod.status?.phase === "Pending")) return null;
    const alive = () => {
      const p = this.store.get(POD, ns, name);
      return !!p && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
    };
    return this.logs.stream(`${ns}/${name}`, q, alive, signal);
  }
}
