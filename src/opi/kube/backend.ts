import type { Logger } from "../../log/index.ts";
import {
  LRP as LRPSchema,
  LRPUpdate as LRPUpdateSchema,
  Routes as RoutesSchema,
  Task as TaskSchema,
  processGuid,
  type Instance,
  type LRP,
  type LRPSchedulingInfo,
  type LRPUpdate,
  type OpiEvent,
  type Task,
  type TaskStatus,
} from "../../model/index.ts";
import { OpiInvalidError, OpiNotFoundError, type OpiBackend, type RouteTarget } from "../backend.ts";
import { pathCovers, routeKey } from "../route-key.ts";
import type { KubeClient, Kind, Obj } from "./client.ts";
import { firstDifference } from "./compare.ts";
import { EnvError } from "./env.ts";
import { KubeApiError, KubeUnavailableError } from "./errors.ts";
import { Informer } from "./informer.ts";
import { crashBetween, instanceOf, podState } from "./instances.ts";
import { ANNOTATION, LABEL, SOURCE } from "./keys.ts";
import { KeyedRunner } from "./keyed-runner.ts";
import {
  buildPDB,
  buildRouteIngress,
  buildRouteService,
  buildStatefulSet,
  buildTaskJob,
  desiredFromLRP,
  lrpOf,
  routesOf,
  stsName,
  type BuildOptions,
  type DesiredLRP,
} from "./objects.ts";
import {
  pdbSpecKey,
  projectEvent,
  projectJob,
  projectPdb,
  projectPod,
  projectService,
  serviceSpecKey,
  type EventRecord,
  type JobRecord,
  type PdbRecord,
  type PodRecord,
  type ServiceRecord,
  type StsRecord,
} from "./projections.ts";
import { SchedulingError } from "./scheduling.ts";

export const INSTANCES_ANNOTATION = "cloudfoundry.org/instances";

export interface KubeBackendOptions {
  client: KubeClient;
  logger: Logger;
  build: BuildOptions;
  /** Makes sure a droplet image exists in the registry before pods pull it. */
  prepareDropletImage?: (droplet: { droplet_guid: string; droplet_hash: string; start_command: string }) => Promise<void>;
  /** Informer reconnect delay (default 1 s doubling to 30 s). */
  backoffMs?: (attempt: number) => number;
  /** Retry delay for failed convergence of one process. */
  retryMs?: (attempt: number) => number;
  /** Finished task Jobs are deleted this long after completion is reported. */
  taskRetentionMs?: number;
  /** How long `start()` waits for the first list of every kind before carrying on in the background. */
  syncTimeoutMs?: number;
  concurrency?: number;
  /** Route targets: pod IPs (in-cluster) or an address that proxies through the API server. */
  routeAddress?: (target: { processGuid: string; pod: PodRecord; port: number; service: string }) => string | null;
  now?: () => number;
}


function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/**
 * The Kubernetes OPI backend: desired LRPs become StatefulSets (+ PDB, one
 * Service per route, optionally an Ingress), tasks become Jobs, and actual
 * state comes from shared informers. All writes for one process go through
 * one per-key queue, compare before writing, and retry on failure, so a
 * flapping API server, hand edits and lost events all converge.
 */
export class KubeBackend implements OpiBackend {
  readonly name = "kube";
  readonly sts: Informer<StsRecord>;
  readonly pods: Informer<PodRecord>;
  readonly jobs: Informer<JobRecord>;
  readonly services: Informer<ServiceRecord>;
  readonly pdbs: Informer<PdbRecord>;
  readonly events: Informer<EventRecord>;
  readonly ingresses: Informer<ServiceRecord> | undefined;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly build: BuildOptions;
  private readonly runner: KeyedRunner;
  /** What this appliance asked for (or, after a restart, what the objects' annotations say). */
  private readonly desired = new Map<string, DesiredLRP>();
  private readonly stopping = new Set<string>();
  private readonly stsByPg = new Map<string, string>();
  private readonly servicesByPg = new Map<string, Set<string>>();
  private readonly servicesByHost = new Map<string, Set<string>>();
  private readonly ingressesByPg = new Map<string, Set<string>>();
  private readonly jobByTask = new Map<string, string>();
  private readonly podByTask = new Map<string, string>();
  private readonly schedulingByPod = new Map<string, string>();
  private readonly finishedTasks = new Map<string, TaskStatus>();
  private readonly reportedTasks = new Set<string>();
  private readonly cleanupTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastStates = new Map<string, string>();
  private readonly listeners = new Set<(e: OpiEvent) => void>();
  private readonly now: () => number;
  private started = false;
  /** Every informer has listed once: background convergence may trust the caches. */
  private synced = false;

  constructor(private readonly o: KubeBackendOptions) {
    this.client = o.client;
    this.log = o.logger.child({ part: "opi-kube" });
    this.build = o.build;
    this.now = o.now ?? Date.now;
    const common = { client: o.client, logger: this.log, backoffMs: o.backoffMs };
    const app = `${LABEL.sourceType}=${SOURCE.app}`;
    this.sts = new Informer<StsRecord>({ ...common, kind: "statefulsets", labelSelector: app, project: (obj) => this.projectSts(obj) });
    this.pods = new Informer<PodRecord>({ ...common, kind: "pods", labelSelector: `${LABEL.sourceType} in (${SOURCE.app},${SOURCE.task},${SOURCE.staging})`, project: projectPod });
    this.jobs = new Informer<JobRecord>({ ...common, kind: "jobs", labelSelector: `${LABEL.sourceType} in (${SOURCE.task},${SOURCE.staging})`, project: projectJob });
    this.services = new Informer<ServiceRecord>({ ...common, kind: "services", labelSelector: app, project: projectService });
    this.pdbs = new Informer<PdbRecord>({ ...common, kind: "poddisruptionbudgets", labelSelector: app, project: projectPdb });
    this.events = new Informer<EventRecord>({ ...common, kind: "events", fieldSelector: "reason=FailedScheduling", project: projectEvent });
    this.ingresses = o.build.ingressClass ? new Informer<ServiceRecord>({ ...common, kind: "ingresses", labelSelector: app, project: projectService }) : undefined;
    this.runner = new KeyedRunner({
      worker: (pg) => this.reconcile(pg),
      concurrency: o.concurrency ?? 32,
      retryMs: o.retryMs,
      onError: (pg, err, attempt) => (attempt === 0 ? this.log.warn : this.log.debug)("convergence failed; will retry", { process_guid: pg, attempt, error: err }),
    });
    this.wire();
  }

  // ---- projections and indexes ------------------------------------------------

  private projectSts(obj: Obj): StsRecord | null {
    const m = obj.metadata ?? {};
    const a = m.annotations ?? {};
    // Status updates (every pod readiness change) do not touch spec or
    // metadata: reuse the drift verdict instead of rebuilding the object.
    const prev = m.name ? this.sts?.get(m.name) : undefined;
    const fingerprint = `${m.generation ?? ""}|${JSON.stringify(m.labels ?? {})}|${obj.spec?.replicas}`;
    const rec: StsRecord = {
      name: m.name,
      rv: String(m.resourceVersion ?? ""),
      uid: String(m.uid ?? ""),
      processGuid: String(a[ANNOTATION.processGuid] ?? ""),
      guid: String(m.labels?.[LABEL.guid] ?? ""),
      version: String(m.labels?.[LABEL.version] ?? ""),
      replicas: Number(obj.spec?.replicas ?? 0),
      instances: Number(a[INSTANCES_ANNOTATION] ?? obj.spec?.replicas ?? 0),
      readyReplicas: Number(obj.status?.readyReplicas ?? 0),
      lrpJson: String(a[ANNOTATION.lrp] ?? ""),
      routesJson: String(a[ANNOTATION.routes] ?? "{}"),
      lastUpdated: String(a[ANNOTATION.lastUpdated] ?? ""),
      drift: "",
      fingerprint,
      deleting: Boolean(m.deletionTimestamp),
    };
    if (!rec.processGuid) return null;
    if (prev && prev.fingerprint === fingerprint && prev.lrpJson === rec.lrpJson && prev.routesJson === rec.routesJson && prev.instances === rec.instances) {
      return { ...rec, guid: prev.guid, version: prev.version, drift: prev.drift, lrpJson: prev.lrpJson };
    }
    const d = this.fromRecord(rec);
    if (!d) rec.drift = "metadata.annotations";
    else {
      rec.guid = d.template.guid;
      rec.version = d.template.version;
      if (d.instances !== rec.replicas) rec.drift = "spec.replicas";
      else {
        try {
          const want = buildStatefulSet(this.build, d);
          rec.drift =
            firstDifference(want.spec.template, obj.spec?.template, "spec.template") ??
            firstDifference(want.spec.selector, obj.spec?.selector, "spec.selector") ??
            firstDifference(want.metadata.labels, m.labels, "metadata.labels") ??
            "";
        } catch (err) {
          rec.drift = `unbuildable: ${(err as Error).message}`;
        }
      }
    }
    return rec;
  }

  private fromRecord(rec: StsRecord): DesiredLRP | null {
    try {
      const template = LRPSchema.parse(JSON.parse(rec.lrpJson));
      const routes = RoutesSchema.parse(JSON.parse(rec.routesJson));
      return { template, instances: Number.isInteger(rec.instances) && rec.instances >= 0 ? rec.instances : rec.replicas, routes, lastUpdated: rec.lastUpdated };
    } catch {
      return null;
    }
  }

  private wire(): void {
    this.sts.on((type, rec, old) => {
      if (type === "deleted") {
        if (this.stsByPg.get(rec.processGuid) === rec.name) this.stsByPg.delete(rec.processGuid);
        if (this.stopping.delete(rec.processGuid)) return;
        if (!this.synced) return;
        // Deleted by someone else while still desired: put it back.
        if (!this.desired.has(rec.processGuid)) {
          const d = this.fromRecord(rec);
          if (!d) return;
          this.desired.set(rec.processGuid, d);
        }
        this.log.warn("StatefulSet deleted outside the appliance; recreating", { name: rec.name, process_guid: rec.processGuid });
        this.runner.enqueue(rec.processGuid);
        return;
      }
      if (old && old.processGuid !== rec.processGuid) this.stsByPg.delete(old.processGuid);
      this.stsByPg.set(rec.processGuid, rec.name);
      if (rec.drift && this.synced && !this.stopping.has(rec.processGuid)) {
        this.log.warn("StatefulSet differs from its desired state; putting it back", { name: rec.name, field: rec.drift });
        if (!this.desired.has(rec.processGuid)) {
          const d = this.fromRecord(rec);
          if (d) this.desired.set(rec.processGuid, d);
        }
        this.runner.enqueue(rec.processGuid);
      }
      if (old && old.replicas > rec.replicas) for (let i = rec.replicas; i < old.replicas; i++) this.lastStates.delete(`${rec.name}-${i}`);
    });
    const indexService = (byPg: Map<string, Set<string>>, byHost: Map<string, Set<string>> | undefined) => (type: string, rec: ServiceRecord, old: ServiceRecord | undefined) => {
      if (old) {
        removeFrom(byPg, old.processGuid, old.name);
        if (byHost) removeFrom(byHost, routeKey(old.host).host, old.name);
      }
      if (type !== "deleted") {
        addTo(byPg, rec.processGuid, rec.name);
        // A route with a path ("host/path") is indexed under its host; routeTargets carries the path.
        if (byHost) addTo(byHost, routeKey(rec.host).host, rec.name);
      }
      this.nudge(rec.processGuid);
    };
    this.services.on(indexService(this.servicesByPg, this.servicesByHost));
    this.ingresses?.on(indexService(this.ingressesByPg, undefined));
    this.pdbs.on((_type, rec) => this.nudge(rec.processGuid));
    this.events.on((type, rec) => {
      if (type === "deleted") return;
      this.schedulingByPod.set(rec.podName, rec.message);
    });
    this.pods.on((type, rec, old) => this.onPod(type, rec, old));
    this.jobs.on((type, rec, old) => this.onJob(type, rec, old));
    for (const inf of this.informers()) {
      inf.onError((err) => {
        const level = err instanceof KubeApiError && err.forbidden ? "error" : "warn";
        this.log[level]("Kubernetes watch failed; retrying with backoff", { error: err.message });
      });
    }
  }

  private instancesAnnotation(rec: StsRecord): number {
    return rec.instances;
  }

  /** A dependent object changed: check the process it belongs to (only if it is ours and live). */
  private nudge(pg: string): void {
    if (!this.synced || !pg || this.stopping.has(pg)) return;
    if (!this.desired.has(pg)) {
      const name = this.stsByPg.get(pg);
      const rec = name ? this.sts.get(name) : undefined;
      if (!rec) return;
      const d = this.fromRecord(rec);
      if (!d) return;
      this.desired.set(pg, d);
    }
    this.runner.enqueue(pg);
  }

  private informers(): Informer<any>[] {
    return [this.sts, this.pods, this.jobs, this.services, this.pdbs, this.events, ...(this.ingresses ? [this.ingresses] : [])];
  }

  private emit(e: OpiEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log.error("OPI event listener failed", { error: err });
      }
    }
  }

  private onPod(type: string, rec: PodRecord, old: PodRecord | undefined): void {
    if (rec.taskGuid) {
      if (type === "deleted") {
        if (this.podByTask.get(rec.taskGuid) === rec.name) this.podByTask.delete(rec.taskGuid);
      } else this.podByTask.set(rec.taskGuid, rec.name);
      return;
    }
    if (!rec.processGuid || rec.index < 0) return;
    if (type === "deleted") {
      this.lastStates.delete(rec.name);
      this.schedulingByPod.delete(rec.name);
      return;
    }
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
    const key = `${rec.uid}:${state}`;
    if (this.lastStates.get(rec.name) !== key) {
      this.lastStates.set(rec.name, key);
      this.emit({ type: "instance_state", process_guid: rec.processGuid, index: rec.index, state, reason: state === "UNCLAIMED" ? this.schedulingByPod.get(rec.name) || reason : reason, at: this.now() });
    }
  }

  // ---- tasks: status from Jobs ----------------------------------------------------

  private taskStatus(job: JobRecord): TaskStatus {
    const podName = this.podByTask.get(job.taskGuid);
    const pod = podName ? this.pods.get(podName) : undefined;
    const exit = pod?.exitCode ?? null;
    if (job.complete) return { guid: job.taskGuid, state: "SUCCEEDED", failure_reason: "", exit_code: exit ?? 0, started_at: job.startedAt || null, finished_at: job.finishedAt || Math.floor(this.now() / 1000) };
    if (job.failedCondition || job.failed > 0) {
      const reason = exit !== null ? `Exited with status ${exit}${pod?.exitReason === "OOMKilled" ? " (out of memory)" : ""}` : pod?.waitingReason ? `${pod.waitingReason}: ${pod.waitingMessage}` : job.failedCondition || "task failed";
      return { guid: job.taskGuid, state: "FAILED", failure_reason: reason, exit_code: exit, started_at: job.startedAt || null, finished_at: job.finishedAt || Math.floor(this.now() / 1000) };
    }
    const running = pod?.phase === "Running";
    return { guid: job.taskGuid, state: running ? "RUNNING" : "PENDING", failure_reason: "", exit_code: null, started_at: running ? pod!.startedAt || job.startedAt || null : null, finished_at: null };
  }

  private onJob(type: string, rec: JobRecord, _old: JobRecord | undefined): void {
    if (!rec.taskGuid) return;
    if (type === "deleted") {
      if (this.jobByTask.get(rec.taskGuid) === rec.name) this.jobByTask.delete(rec.taskGuid);
      if (!this.finishedTasks.has(rec.taskGuid) && this.started) this.finishTask(rec.taskGuid, { guid: rec.taskGuid, state: "FAILED", failure_reason: "the task's Job was deleted before it finished", exit_code: null, started_at: rec.startedAt || null, finished_at: Math.floor(this.now() / 1000) });
      return;
    }
    this.jobByTask.set(rec.taskGuid, rec.name);
    const status = this.taskStatus(rec);
    if ((status.state === "SUCCEEDED" || status.state === "FAILED") && !this.finishedTasks.has(rec.taskGuid)) {
      // The job's pod may not have reported its exit code yet; a pod update re-runs this.
      this.finishTask(rec.taskGuid, status);
      this.scheduleCleanup(rec.name);
    }
  }

  private finishTask(guid: string, status: TaskStatus): void {
    this.finishedTasks.set(guid, status);
    if (this.finishedTasks.size > 10_000) this.finishedTasks.delete(this.finishedTasks.keys().next().value as string);
    if (this.reportedTasks.has(guid)) return;
    this.reportedTasks.add(guid);
    if (this.reportedTasks.size > 10_000) this.reportedTasks.delete(this.reportedTasks.values().next().value as string);
    this.emit({ type: "task_completed", task_guid: guid, state: status.state, failed: status.state === "FAILED", failure_reason: status.failure_reason, at: this.now() });
  }

  private scheduleCleanup(jobName: string): void {
    if (this.cleanupTimers.has(jobName)) return;
    const t = setTimeout(() => {
      this.cleanupTimers.delete(jobName);
      this.client.delete("jobs", jobName, { propagation: "Background" }).then(
        () => this.jobs.forget(jobName),
        (err) => this.log.warn("could not delete a finished task Job", { job: jobName, error: err }),
      );
    }, this.o.taskRetentionMs ?? 60_000);
    t.unref?.();
    this.cleanupTimers.set(jobName, t);
  }

  // ---- convergence of one process ---------------------------------------------------

  private stsFor(pg: string): StsRecord | undefined {
    const name = this.stsByPg.get(pg);
    return name ? this.sts.get(name) : undefined;
  }

  /** Create or put back the StatefulSet; returns the owner (name + uid) for dependents. */
  private async ensureStatefulSet(pg: string, d: DesiredLRP): Promise<{ name: string; uid: string }> {
    const want = buildStatefulSet(this.build, d);
    want.metadata.annotations[INSTANCES_ANNOTATION] = String(d.instances);
    for (let attempt = 0; attempt < 5; attempt++) {
      const rec = this.stsFor(pg);
      if (!rec) {
        try {
          const created = await this.client.create("statefulsets", want);
          this.sts.observe(created);
          return { name: created.metadata.name, uid: created.metadata.uid };
        } catch (err) {
          if (!(err instanceof KubeApiError && err.alreadyExists)) throw err;
          const cur = await this.client.get("statefulsets", want.metadata.name);
          if (cur) this.sts.observe(cur);
          if (!this.stsFor(pg)) throw new OpiInvalidError(`StatefulSet ${want.metadata.name} exists but belongs to another process`);
          continue;
        }
      }
      const a = want.metadata.annotations as Record<string, string>;
      const annotationsDiffer = rec.lrpJson !== a[ANNOTATION.lrp] || rec.routesJson !== a[ANNOTATION.routes] || rec.lastUpdated !== a[ANNOTATION.lastUpdated] || this.instancesAnnotation(rec) !== d.instances;
      const templateDiffers = rec.lrpJson !== a[ANNOTATION.lrp] || rec.drift !== "";
      try {
        if (templateDiffers) {
          // New droplet/image or a hand edit: replace the whole object (rolls the pods if the template changed).
          const replaced = await this.client.replace("statefulsets", rec.name, { ...want, metadata: { ...want.metadata, name: rec.name, resourceVersion: rec.rv } });
          this.sts.observe(replaced);
        } else if (annotationsDiffer || rec.replicas !== d.instances) {
          // Scale and route/stamp changes: replicas and annotations only.
          const patch: Obj = { metadata: { resourceVersion: rec.rv, annotations: {} as Record<string, string> } };
          if (rec.routesJson !== a[ANNOTATION.routes]) patch.metadata.annotations[ANNOTATION.routes] = a[ANNOTATION.routes];
          if (rec.lastUpdated !== a[ANNOTATION.lastUpdated]) patch.metadata.annotations[ANNOTATION.lastUpdated] = a[ANNOTATION.lastUpdated];
          if (this.instancesAnnotation(rec) !== d.instances) patch.metadata.annotations[INSTANCES_ANNOTATION] = String(d.instances);
          if (rec.replicas !== d.instances) patch.spec = { replicas: d.instances };
          const patched = await this.client.patch("statefulsets", rec.name, patch);
          this.sts.observe(patched);
        }
        return { name: rec.name, uid: rec.uid };
      } catch (err) {
        if (err instanceof KubeApiError && err.conflict) {
          const cur = await this.client.get("statefulsets", rec.name);
          if (cur) this.sts.observe(cur);
          else this.sts.forget(rec.name);
          continue;
        }
        if (err instanceof KubeApiError && err.notFound) {
          this.sts.forget(rec.name);
          continue;
        }
        throw err;
      }
    }
    throw new KubeApiError(`StatefulSet for ${pg} kept changing under us (5 conflicts in a row)`, 409, "Conflict", "update", "statefulsets");
  }

  private async ensurePDB(lrp: LRP, owner: { name: string; uid: string }): Promise<void> {
    const name = owner.name;
    const rec = this.pdbs.get(name);
    if (lrp.instances <= 1) {
      if (rec) {
        await this.client.delete("poddisruptionbudgets", name);
        this.pdbs.forget(name);
      }
      return;
    }
    const want = buildPDB(this.build, lrp, { metadata: owner });
    want.metadata.name = name;
    if (rec && rec.spec === pdbSpecKey(want) && rec.ownerUid === owner.uid) return;
    if (!rec) {
      try {
        this.pdbs.observe(await this.client.create("poddisruptionbudgets", want));
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.alreadyExists)) throw err;
        const cur = await this.client.get("poddisruptionbudgets", name);
        if (cur) this.pdbs.observe(cur);
        const again = this.pdbs.get(name);
        if (!again || (again.spec === pdbSpecKey(want) && again.ownerUid === owner.uid)) return;
      }
    }
    const cur = this.pdbs.get(name)!;
    this.pdbs.observe(await this.client.replace("poddisruptionbudgets", name, { ...want, metadata: { ...want.metadata, resourceVersion: cur.rv } }));
  }

  private async ensureRouteObjects(
    kind: Kind,
    inf: Informer<ServiceRecord>,
    byPg: Map<string, Set<string>>,
    lrp: LRP,
    owner: { name: string; uid: string },
    build: (route: { hostname: string; port: number }) => Obj,
    key: (o: Obj) => string,
  ): Promise<void> {
    const wanted = new Map(routesOf(lrp.routes).map((r) => [build(r).metadata.name as string, build(r)]));
    for (const [name, want] of wanted) {
      const rec = inf.get(name);
      if (rec && rec.spec === key(want) && rec.ownerUid === owner.uid) continue;
      try {
        if (!rec) inf.observe(await this.client.create(kind, want));
        else inf.observe(await this.client.replace(kind, name, { ...want, metadata: { ...want.metadata, resourceVersion: rec.rv }, ...(kind === "services" ? { spec: { ...want.spec } } : {}) }));
      } catch (err) {
        if (err instanceof KubeApiError && (err.alreadyExists || err.conflict)) {
          const cur = await this.client.get(kind, name);
          if (cur) {
            inf.observe(cur);
            const again = inf.get(name)!;
            if (again.spec !== key(want) || again.ownerUid !== owner.uid) inf.observe(await this.client.replace(kind, name, { ...want, metadata: { ...want.metadata, resourceVersion: again.rv } }));
          }
          continue;
        }
        throw err;
      }
    }
    for (const name of [...(byPg.get(lrp.process_guid) ?? [])]) {
      if (wanted.has(name)) continue;
      await this.client.delete(kind, name);
      inf.forget(name);
    }
  }

  private async reconcile(pg: string): Promise<void> {
    const d = this.desired.get(pg);
    if (!d || this.stopping.has(pg)) return;
    const lrp = lrpOf(d);
    const owner = await this.ensureStatefulSet(pg, d);
    await this.ensurePDB(lrp, owner);
    await this.ensureRouteObjects("services", this.services, this.servicesByPg, lrp, owner, (r) => buildRouteService(this.build, lrp, r, { metadata: owner }), serviceSpecKey);
    if (this.ingresses) {
      await this.ensureRouteObjects("ingresses", this.ingresses, this.ingressesByPg, lrp, owner, (r) => buildRouteIngress(this.build, lrp, r, { metadata: owner }), (o) => serviceSpecKey(o));
    }
  }

  /** Runs one convergence now (errors to the caller) and keeps retrying in the background if it fails. */
  private async converge(pg: string): Promise<void> {
    try {
      await this.runner.run(pg, () => this.reconcile(pg));
    } catch (err) {
      if (!(err instanceof OpiInvalidError)) this.runner.retryLater(pg, err);
      throw this.explain(err);
    }
  }

  private explain(err: unknown): Error {
    if (err instanceof SchedulingError || err instanceof EnvError) return new OpiInvalidError(err.message, { cause: err });
    if (err instanceof KubeApiError && err.status === 422) return new OpiInvalidError(`Kubernetes rejected the object: ${err.message}`, { cause: err });
    return err as Error;
  }

  private validateLRP(input: LRP): LRP {
    const parsed = LRPSchema.safeParse(input);
    if (!parsed.success) throw new OpiInvalidError(`invalid LRP: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const lrp = parsed.data;
    if (lrp.process_guid !== processGuid(lrp.guid, lrp.version)) throw new OpiInvalidError(`process_guid must be <guid>-<version> (${processGuid(lrp.guid, lrp.version)})`);
    try {
      buildStatefulSet(this.build, desiredFromLRP(lrp));
    } catch (err) {
      throw this.explain(err);
    }
    return lrp;
  }

  private async prepare(lrp: Pick<LRP, "lifecycle">): Promise<void> {
    if ("buildpack_lifecycle" in lrp.lifecycle && this.o.prepareDropletImage) {
      try {
        await this.o.prepareDropletImage(lrp.lifecycle.buildpack_lifecycle);
      } catch (err) {
        throw new OpiInvalidError(`cannot make the droplet image: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  private requireSynced(): void {
    if (!this.synced) {
      const err = this.informers().find((i) => i.lastError)?.lastError;
      throw new KubeUnavailableError(`the Kubernetes API server at ${this.client.server} has not been reachable yet${err ? `: ${err.message}` : ""}; retrying in the background`);
    }
  }

  /** After the first full list of every kind: put back whatever drifted while nobody watched. */
  private onFirstSync(): void {
    if (this.synced || !this.started) return;
    this.synced = true;
    for (const rec of this.sts.cache.values()) {
      if (!rec.drift || this.stopping.has(rec.processGuid)) continue;
      const d = this.desired.get(rec.processGuid) ?? this.fromRecord(rec);
      if (!d) continue;
      this.desired.set(rec.processGuid, d);
      this.runner.enqueue(rec.processGuid);
    }
    this.log.info("Kubernetes caches synced", { statefulsets: this.sts.cache.size, pods: this.pods.cache.size, jobs: this.jobs.cache.size });
  }

  // ---- OpiBackend: LRPs ------------------------------------------------------------

  async desireLRP(input: LRP): Promise<void> {
    const lrp = this.validateLRP(input);
    this.requireSynced();
    const pg = lrp.process_guid;
    if (this.stsFor(pg) && this.desired.has(pg)) return;
    if (this.stsFor(pg) && !this.stopping.has(pg)) {
      const rec = this.stsFor(pg)!;
      const d = this.fromRecord(rec);
      if (d) this.desired.set(pg, d);
      return;
    }
    await this.prepare(lrp);
    this.stopping.delete(pg);
    this.desired.set(pg, desiredFromLRP(lrp));
    await this.converge(pg);
  }

  private current(pg: string): DesiredLRP | null {
    const d = this.desired.get(pg);
    if (d) return d;
    const rec = this.stsFor(pg);
    if (!rec || this.stopping.has(pg)) return null;
    return this.fromRecord(rec);
  }

  async updateLRP(input: LRPUpdate): Promise<void> {
    const parsed = LRPUpdateSchema.safeParse(input);
    if (!parsed.success) throw new OpiInvalidError(`invalid update: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const { guid, version, update: u } = parsed.data;
    const pg = processGuid(guid, version);
    this.requireSynced();
    const cur = this.current(pg);
    if (!cur) throw new OpiNotFoundError(`no desired LRP ${pg}`);
    const next: DesiredLRP = { ...cur };
    if (u.instances !== undefined) next.instances = u.instances;
    if (u.routes) next.routes = u.routes;
    if (u.annotation !== undefined) next.lastUpdated = u.annotation;
    let lifecycle = cur.template.lifecycle;
    if (u.lifecycle) lifecycle = u.lifecycle;
    if (u.image && "docker_lifecycle" in lifecycle) lifecycle = { docker_lifecycle: { ...lifecycle.docker_lifecycle, image: u.image } };
    if (JSON.stringify(lifecycle) !== JSON.stringify(cur.template.lifecycle)) {
      const template = { ...cur.template, lifecycle, routes: next.routes, instances: next.instances, last_updated: next.lastUpdated };
      try {
        buildStatefulSet(this.build, desiredFromLRP(template));
      } catch (err) {
        throw this.explain(err);
      }
      await this.prepare(template);
      next.template = template;
    }
    this.desired.set(pg, next);
    await this.converge(pg);
  }

  async getLRP(pg: string): Promise<LRP | null> {
    const d = this.current(pg);
    return d ? structuredClone(lrpOf(d)) : null;
  }

  async listLRPs(): Promise<LRPSchedulingInfo[]> {
    this.requireSynced();
    const out: LRPSchedulingInfo[] = [];
    for (const rec of this.sts.cache.values()) {
      if (this.stopping.has(rec.processGuid) || rec.deleting) continue;
      const d = this.desired.get(rec.processGuid);
      const guid = d?.template.guid ?? rec.guid;
      const version = d?.template.version ?? rec.version;
      out.push({ desired_lrp_key: { process_guid: rec.processGuid }, guid, version, annotation: d?.lastUpdated ?? rec.lastUpdated });
    }
    return out;
  }

  async stopLRP(pg: string): Promise<void> {
    await this.runner.run(pg, async () => {
      this.desired.delete(pg);
      this.runner.drop(pg);
      const rec = this.stsFor(pg);
      if (!rec) return;
      this.stopping.add(pg);
      try {
        await this.client.delete("statefulsets", rec.name, { propagation: "Background" });
      } catch (err) {
        this.stopping.delete(pg);
        throw err;
      }
      this.sts.forget(rec.name);
      this.stsByPg.delete(pg);
      this.stopping.add(pg);
      for (let i = 0; i < rec.replicas; i++) this.lastStates.delete(`${rec.name}-${i}`);
    });
  }

  async stopInstance(pg: string, index: number): Promise<void> {
    const rec = this.stsFor(pg);
    const d = this.current(pg);
    if (!rec || !d || index < 0 || index >= d.instances) return;
    await this.client.delete("pods", `${rec.name}-${index}`, { propagation: "Background" });
  }

  async getInstances(pg: string): Promise<Instance[]> {
    const d = this.current(pg);
    const rec = this.stsFor(pg);
    if (!d) return [];
    const name = rec?.name ?? stsName(d.template);
    const port = d.template.ports[0] ?? 8080;
    const out: Instance[] = [];
    for (let i = 0; i < d.instances; i++) out.push(instanceOf(i, this.pods.get(`${name}-${i}`), port, (pod) => this.schedulingByPod.get(pod) ?? "", this.now));
    return out;
  }

  // ---- OpiBackend: tasks ------------------------------------------------------------

  async desireTask(input: Task): Promise<void> {
    const parsed = TaskSchema.safeParse(input);
    if (!parsed.success) throw new OpiInvalidError(`invalid task: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const task = parsed.data;
    if (!task.lifecycle) throw new OpiInvalidError("a task on Kubernetes needs a lifecycle (droplet or docker image)");
    if (this.jobByTask.has(task.guid) || this.finishedTasks.has(task.guid)) return;
    let job: Obj;
    try {
      job = buildTaskJob(this.build, task, Math.ceil((this.o.taskRetentionMs ?? 60_000) / 1000) + 3600);
    } catch (err) {
      throw this.explain(err);
    }
    if ("buildpack_lifecycle" in task.lifecycle) await this.prepare({ lifecycle: { buildpack_lifecycle: { ...task.lifecycle.buildpack_lifecycle, start_command: "" } } });
    await this.runner.run(`task:${task.guid}`, async () => {
      if (this.jobByTask.has(task.guid)) return;
      try {
        this.jobs.observe(await this.client.create("jobs", job));
      } catch (err) {
        if (err instanceof KubeApiError && err.alreadyExists) return;
        throw this.explain(err);
      }
    });
  }

  async getTask(guid: string): Promise<TaskStatus | null> {
    const done = this.finishedTasks.get(guid);
    if (done) return { ...done };
    const name = this.jobByTask.get(guid);
    const job = name ? this.jobs.get(name) : undefined;
    return job ? this.taskStatus(job) : null;
  }

  async listTasks(): Promise<TaskStatus[]> {
    const out = new Map<string, TaskStatus>();
    for (const job of this.jobs.cache.values()) if (job.taskGuid) out.set(job.taskGuid, this.taskStatus(job));
    for (const [guid, s] of this.finishedTasks) out.set(guid, { ...s });
    return [...out.values()];
  }

  async cancelTask(guid: string): Promise<void> {
    if (this.finishedTasks.has(guid)) return;
    const name = this.jobByTask.get(guid);
    if (!name) return;
    const job = this.jobs.get(name);
    this.finishTask(guid, { guid, state: "FAILED", failure_reason: "cancelled", exit_code: null, started_at: job?.startedAt || null, finished_at: Math.floor(this.now() / 1000) });
    await this.client.delete("jobs", name, { propagation: "Background" });
    this.jobs.forget(name);
  }

  // ---- events, routes, lifecycle ------------------------------------------------------

  subscribe(listener: (event: OpiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  routeTargets(host: string): RouteTarget[] {
    const out: RouteTarget[] = [];
    for (const svcName of this.servicesByHost.get(routeKey(host).host) ?? []) {
      const svc = this.services.get(svcName);
      if (!svc || this.stopping.has(svc.processGuid)) continue;
      const rec = this.stsFor(svc.processGuid);
      const d = this.current(svc.processGuid);
      if (!rec || !d) continue;
      const path = routeKey(svc.host).path;
      const weight = Object.values(d.routes).flat().find((r) => r.hostname.toLowerCase() === svc.host && r.port === svc.port)?.weight ?? 1;
      for (let i = 0; i < d.instances; i++) {
        const pod = this.pods.get(`${rec.name}-${i}`);
        if (!pod || pod.deleting || podState(pod).state !== "RUNNING" || !pod.ip) continue;
        const address = this.o.routeAddress ? this.o.routeAddress({ processGuid: svc.processGuid, pod, port: svc.port, service: svc.name }) : `${pod.ip}:${svc.port}`;
        if (address) out.push({ process_guid: svc.processGuid, app_guid: d.template.app_guid, index: i, instance_guid: pod.uid, address, path, weight });
      }
    }
    return out;
  }

  /** Every path routed on `host` by a live process, running or not. */
  routePaths(host: string): string[] {
    const out = new Set<string>();
    for (const svcName of this.servicesByHost.get(routeKey(host).host) ?? []) {
      const svc = this.services.get(svcName);
      if (svc && !this.stopping.has(svc.processGuid) && this.stsFor(svc.processGuid)) out.add(routeKey(svc.host).path);
    }
    return [...out];
  }

  /** True when some live process has this route (the router's 503-vs-404 question). */
  knowsRoute(host: string): boolean {
    for (const svcName of this.servicesByHost.get(routeKey(host).host) ?? []) {
      const svc = this.services.get(svcName);
      if (svc && !this.stopping.has(svc.processGuid) && this.stsFor(svc.processGuid)) return true;
    }
    return false;
  }

  /** The route Service serving `host` (for the API server's service proxy). */
  serviceForHost(host: string, path = "/"): { name: string; port: number } | undefined {
    // With route paths on the host, the longest one covering the request path wins (as in the router).
    let best: { name: string; port: number; len: number } | undefined;
    const lowered = path.toLowerCase();
    for (const svcName of this.servicesByHost.get(routeKey(host).host) ?? []) {
      const svc = this.services.get(svcName);
      if (!svc || this.stopping.has(svc.processGuid) || !this.stsFor(svc.processGuid)) continue;
      const p = routeKey(svc.host).path;
      if (pathCovers(p, lowered) && (!best || p.length > best.len)) best = { name: svc.name, port: svc.port, len: p.length };
    }
    return best ? { name: best.name, port: best.port } : undefined;
  }

  /** Processes waiting for a retry after a failed convergence. */
  get retrying(): number {
    return this.runner.retrying;
  }

  async start(): Promise<void> {
    this.started = true;
    for (const inf of this.informers()) inf.start();
    const synced = Promise.all(this.informers().map((i) => i.whenSynced())).then(() => this.onFirstSync());
    const limit = this.o.syncTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([synced.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), limit)))]);
    clearTimeout(timer);
    if (!ok) {
      const err = this.informers().find((i) => i.lastError)?.lastError;
      this.log.error("Kubernetes API server not reachable yet; the backend keeps retrying in the background", { server: this.client.server, namespace: this.client.namespace, error: err?.message ?? "no answer" });
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    this.synced = false;
    for (const t of this.cleanupTimers.values()) clearTimeout(t);
    this.cleanupTimers.clear();
    await this.runner.stop();
    await Promise.all(this.informers().map((i) => i.stop()));
  }
}
