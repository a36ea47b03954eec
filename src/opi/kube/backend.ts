import type { Logger } from "../../log/index.ts";
import {
  LRP as LRPSchema,
  LRPUpdate as LRPUpdateSchema,
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
import { routeKey } from "../route-key.ts";
import type { KubeClient, Obj } from "./client.ts";
import { EnvError } from "./env.ts";
import { KubeApiError, KubeUnavailableError } from "./errors.ts";
import { Informer } from "./informer.ts";
import { InstanceEvents } from "./instance-events.ts";
import { instanceOf } from "./instances.ts";
import { LABEL, SOURCE } from "./keys.ts";
import { KeyedRunner } from "./keyed-runner.ts";
import { addTo, removeFrom } from "./multimap.ts";
import { TaskJobs } from "./task-jobs.ts";
import { RouteLookup } from "./route-lookup.ts";
import { desiredFromRecord, projectStatefulSet } from "./sts-drift.ts";
import { LrpWriter } from "./lrp-writes.ts";
import {
  buildRouteIngress,
  buildRouteService,
  buildStatefulSet,
  buildTaskJob,
  desiredFromLRP,
  lrpOf,
  stsName,
  type BuildOptions,
  type DesiredLRP,
} from "./objects.ts";
import {
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

export { INSTANCES_ANNOTATION } from "./lrp-writes.ts";

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


/**
 * The Kubernetes OPI backend: desired LRPs become StatefulSets (+ PDB, one
 * Service per route, optionally an Ingress), tasks become Jobs, and actual
 * state comes from shared informers. All writes for one process go through
 * one per-key queue, compare before writing, and retry on failure, so a
 * flapping API server, hand edits and lost events all converge.
 */
export class KubeBackend implements OpiBackend {
  readonly name = "kube";
  readonly supportsDockerImages = true;
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
  private readonly instanceEvents: InstanceEvents;
  private readonly tasks: TaskJobs;
  private readonly writer: LrpWriter;
  private readonly routes: RouteLookup;
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
    this.instanceEvents = new InstanceEvents((e) => this.emit(e), this.now);
    const common = { client: o.client, logger: this.log, backoffMs: o.backoffMs };
    const app = `${LABEL.sourceType}=${SOURCE.app}`;
    this.sts = new Informer<StsRecord>({ ...common, kind: "statefulsets", labelSelector: app, project: (obj) => this.projectSts(obj) });
    this.pods = new Informer<PodRecord>({ ...common, kind: "pods", labelSelector: `${LABEL.sourceType} in (${SOURCE.app},${SOURCE.task},${SOURCE.staging})`, project: projectPod });
    this.jobs = new Informer<JobRecord>({ ...common, kind: "jobs", labelSelector: `${LABEL.sourceType} in (${SOURCE.task},${SOURCE.staging})`, project: projectJob });
    this.services = new Informer<ServiceRecord>({ ...common, kind: "services", labelSelector: app, project: projectService });
    this.pdbs = new Informer<PdbRecord>({ ...common, kind: "poddisruptionbudgets", labelSelector: app, project: projectPdb });
    this.events = new Informer<EventRecord>({ ...common, kind: "events", fieldSelector: "reason=FailedScheduling", project: projectEvent });
    this.ingresses = o.build.ingressClass ? new Informer<ServiceRecord>({ ...common, kind: "ingresses", labelSelector: app, project: projectService }) : undefined;
    this.tasks = new TaskJobs({ client: o.client, jobs: this.jobs, pods: this.pods, logger: this.log, emit: (e) => this.emit(e), now: this.now, retentionMs: o.taskRetentionMs ?? 60_000, running: () => this.started });
    this.writer = new LrpWriter({ client: o.client, build: o.build, sts: this.sts, pdbs: this.pdbs, stsFor: (pg) => this.stsFor(pg) });
    this.routes = new RouteLookup({
      services: this.services,
      pods: this.pods,
      servicesByHost: this.servicesByHost,
      routeAddress: o.routeAddress,
      // Live: not being stopped, with a StatefulSet and a desired state (what knowsRoute always asked).
      live: (pg) => {
        if (this.stopping.has(pg)) return null;
        const rec = this.stsFor(pg);
        const d = rec ? this.current(pg) : null;
        return rec && d ? { stsName: rec.name, instances: d.instances, appGuid: d.template.app_guid, routes: Object.values(d.routes).flat() } : null;
      },
    });
    this.runner = new KeyedRunner({
      worker: (pg) => this.reconcile(pg),
      concurrency: o.concurrency ?? 32,
      retryMs: o.retryMs,
      onError: (pg, err, attempt) => (attempt === 0 ? this.log.warn : this.log.debug)("convergence failed; will retry", { process_guid: pg, attempt, error: err }),
    });
    this.wire();
  }

  private projectSts(obj: Obj): StsRecord | null {
    const name = obj.metadata?.name;
    return projectStatefulSet(obj, name ? this.sts?.get(name) : undefined, this.build);
  }

  private fromRecord(rec: StsRecord): DesiredLRP | null {
    return desiredFromRecord(rec);
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
      if (old && old.replicas > rec.replicas) for (let i = rec.replicas; i < old.replicas; i++) this.instanceEvents.forget(`${rec.name}-${i}`);
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
    this.events.on((type, rec) => this.instanceEvents.onSchedulingEvent(type, rec));
    this.pods.on((type, rec, old) => this.onPod(type, rec, old));
    this.jobs.on((type, rec) => this.tasks.onJob(type, rec));
    for (const inf of this.informers()) {
      inf.onError((err) => {
        const level = err instanceof KubeApiError && err.forbidden ? "error" : "warn";
        this.log[level]("Kubernetes watch failed; retrying with backoff", { error: err.message });
      });
    }
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
    if (rec.taskGuid) return this.tasks.onPod(type, rec);
    this.instanceEvents.onPod(type, rec, old);
  }

  // ---- convergence of one process ---------------------------------------------------

  private stsFor(pg: string): StsRecord | undefined {
    const name = this.stsByPg.get(pg);
    return name ? this.sts.get(name) : undefined;
  }

  private async reconcile(pg: string): Promise<void> {
    const d = this.desired.get(pg);
    if (!d || this.stopping.has(pg)) return;
    const lrp = lrpOf(d);
    const owner = await this.writer.statefulSet(pg, d);
    await this.writer.pdb(lrp, owner);
    await this.writer.routeObjects("services", this.services, this.servicesByPg, lrp, owner, (r) => buildRouteService(this.build, lrp, r, { metadata: owner }), serviceSpecKey);
    if (this.ingresses) {
      await this.writer.routeObjects("ingresses", this.ingresses, this.ingressesByPg, lrp, owner, (r) => buildRouteIngress(this.build, lrp, r, { metadata: owner }), (o) => serviceSpecKey(o));
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
      for (let i = 0; i < rec.replicas; i++) this.instanceEvents.forget(`${rec.name}-${i}`);
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
    const ev = this.instanceEvents;
    for (let i = 0; i < d.instances; i++) out.push(instanceOf(i, this.pods.get(`${name}-${i}`), port, (pod) => ev.schedulingMessage(pod), this.now, (pod) => ev.pullMessage(pod)));
    return out;
  }

  // ---- OpiBackend: tasks ------------------------------------------------------------

  async desireTask(input: Task): Promise<void> {
    const parsed = TaskSchema.safeParse(input);
    if (!parsed.success) throw new OpiInvalidError(`invalid task: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const task = parsed.data;
    if (!task.lifecycle) throw new OpiInvalidError("a task on Kubernetes needs a lifecycle (droplet or docker image)");
    if (this.tasks.knows(task.guid)) return;
    let job: Obj;
    try {
      job = buildTaskJob(this.build, task, Math.ceil((this.o.taskRetentionMs ?? 60_000) / 1000) + 3600);
    } catch (err) {
      throw this.explain(err);
    }
    if ("buildpack_lifecycle" in task.lifecycle) await this.prepare({ lifecycle: { buildpack_lifecycle: { ...task.lifecycle.buildpack_lifecycle, start_command: "" } } });
    await this.runner.run(`task:${task.guid}`, async () => {
      if (this.tasks.hasJob(task.guid)) return;
      try {
        await this.tasks.create(job);
      } catch (err) {
        throw this.explain(err);
      }
    });
  }

  async getTask(guid: string): Promise<TaskStatus | null> {
    return this.tasks.get(guid);
  }

  async listTasks(): Promise<TaskStatus[]> {
    return this.tasks.list();
  }

  async cancelTask(guid: string): Promise<void> {
    await this.tasks.cancel(guid);
  }

  // ---- events, routes, lifecycle ------------------------------------------------------

  subscribe(listener: (event: OpiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  routeTargets(host: string): RouteTarget[] {
    return this.routes.targets(host);
  }

  /** True when some live process has this route (the router's 503-vs-404 question). */
  knowsRoute(host: string): boolean {
    return this.routes.knows(host);
  }

  /** Every path routed on `host` by a live process, running or not. */
  routePaths(host: string): string[] {
    return this.routes.paths(host);
  }

  /** The route Service serving `host` and `path` (for the API server's service proxy). */
  serviceForHost(host: string, path = "/"): { name: string; port: number } | undefined {
    return this.routes.service(host, path);
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
    this.tasks.stop();
    await this.runner.stop();
    await Promise.all(this.informers().map((i) => i.stop()));
  }
}
