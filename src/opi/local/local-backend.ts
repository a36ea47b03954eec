import { processGuid, type Instance, type LRP, type LRPSchedulingInfo, type LRPUpdate, type OpiEvent, type Task, type TaskStatus } from "../../model/index.ts";
import { OpiNotFoundError, type OpiBackend, type RouteTarget } from "../backend.ts";
import { addDesired, removeDesired, updateDesired } from "./desired-lrps.ts";
import { parseLRP } from "./input.ts";
import { relaunchSlot, stopSlot } from "./instance-stop.ts";
import { readopt } from "./readoption.ts";
import { createRuntime, type LocalBackendCore, type Runtime } from "./runtime.ts";
import { Scheduler } from "./scheduler.ts";
import { cancelTimers, primaryPort } from "./slot.ts";
import { cancelTask, desireTask, stopTasks } from "./tasks.ts";

/**
 * The local OPI backend: virtual cells on this machine, Diego's placement,
 * one process group per instance (through an Executor), health checks,
 * Diego's crash-restart policy, tasks, and re-adoption after a restart.
 * All scheduling runs on the event loop; SQLite holds what must survive.
 */
export class LocalBackend implements OpiBackend {
  readonly name = "local";

  /** Docker images run only in containers (the CC refuses docker pushes at once otherwise). */
  get supportsDockerImages(): boolean {
    return this.rt.executor.runsImages === true;
  }
  private readonly rt: Runtime;
  private readonly scheduler: Scheduler;
  private noticed = false;

  constructor(core: LocalBackendCore) {
    this.rt = createRuntime(core, () => this.scheduler.converge());
    this.scheduler = new Scheduler(this.rt);
  }

  async desireLRP(input: LRP): Promise<void> {
    const lrp = parseLRP(input);
    if (this.rt.desired.has(lrp.process_guid)) return;
    this.rt.state.saveLRP(lrp, this.rt.clock.now());
    addDesired(this.rt, lrp);
    this.scheduler.converge();
  }

  async updateLRP(update: LRPUpdate): Promise<void> {
    const pg = processGuid(update.guid, update.version);
    const d = this.rt.desired.get(pg);
    if (!d) throw new OpiNotFoundError(`no desired LRP ${pg}`);
    await updateDesired(this.rt, d, update.update);
  }

  async getLRP(pg: string): Promise<LRP | null> {
    const d = this.rt.desired.get(pg);
    return d ? structuredClone(d.lrp) : null;
  }

  async listLRPs(): Promise<LRPSchedulingInfo[]> {
    return [...this.rt.desired.values()].map(({ lrp }) => ({
      desired_lrp_key: { process_guid: lrp.process_guid },
      guid: lrp.guid,
      version: lrp.version,
      annotation: lrp.last_updated,
    }));
  }

  async stopLRP(pg: string): Promise<void> {
    const d = this.rt.desired.get(pg);
    if (d) await removeDesired(this.rt, d);
  }

  async stopInstance(pg: string, index: number): Promise<void> {
    const d = this.rt.desired.get(pg);
    const slot = d?.slots[index];
    if (!d || !slot) return;
    await relaunchSlot(this.rt, d, slot);
    this.scheduler.converge();
  }

  async getInstances(pg: string): Promise<Instance[]> {
    const d = this.rt.desired.get(pg);
    if (!d) return [];
    const first = primaryPort(d.lrp);
    return d.slots.map((s) => {
      const usage = s.handle && s.state === "RUNNING" ? this.rt.executor.usage?.(s.handle) : null;
      return {
        index: s.index,
        since: Math.floor(s.since / 1000),
        state: s.state,
        placement_error: s.placementError,
        crash_count: s.crashCount,
        crash_reason: s.crashReason,
        host: s.cell ? s.handle?.record.host || "127.0.0.1" : "",
        port: s.cell ? (s.ports.get(first) ?? 0) : 0,
        instance_guid: s.instanceGuid,
        cell: s.cell,
        ...(usage ? { usage } : {}),
      };
    });
  }

  async desireTask(input: Task): Promise<void> {
    desireTask(this.rt, input);
  }

  async getTask(guid: string): Promise<TaskStatus | null> {
    const t = this.rt.tasks.get(guid);
    return t ? { ...t.status } : null;
  }

  async listTasks(): Promise<TaskStatus[]> {
    return [...this.rt.tasks.values()].map((t) => ({ ...t.status }));
  }

  cancelTask(guid: string): Promise<void> {
    return cancelTask(this.rt, guid);
  }

  subscribe(listener: (event: OpiEvent) => void): () => void {
    return this.rt.events.subscribe(listener);
  }

  routeTargets(host: string): RouteTarget[] {
    return this.rt.routes.targets(host);
  }

  knowsRoute(host: string): boolean {
    return this.rt.routes.knows(host);
  }

  routePaths(host: string): string[] {
    return this.rt.routes.paths(host);
  }

  async start(): Promise<void> {
    const notice = this.rt.executor.startupNotice;
    if (notice && !this.noticed) this.rt.log[notice.level](notice.message, notice.fields);
    this.noticed = true;
    this.rt.stopped = false;
    await readopt(this.rt);
    this.scheduler.converge();
  }

  async stop(): Promise<void> {
    this.rt.stopped = true;
    this.scheduler.stopWaking();
    const work: Promise<void>[] = [];
    for (const d of this.rt.desired.values()) for (const s of d.slots) work.push(stopSlot(this.rt, s));
    work.push(...stopTasks(this.rt));
    await Promise.all(work);
    this.rt.executor.close();
    await this.rt.executor.shutdown?.();
  }

  /**
   * Forget everything without stopping any process, as if the appliance had
   * been killed: the next backend on the same data dir re-adopts them.
   */
  abandon(): void {
    this.rt.stopped = true;
    this.rt.abandoned = true;
    this.scheduler.stopWaking();
    for (const d of this.rt.desired.values()) {
      for (const s of d.slots) {
        cancelTimers(s);
        s.gen += 1;
      }
    }
    this.rt.executor.close();
  }
}
