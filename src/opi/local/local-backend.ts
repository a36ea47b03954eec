import type { Config } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import {
  LRP as LRPSchema,
  Task as TaskSchema,
  type Instance,
  type InstanceState,
  type LogSink,
  type LRP,
  type LRPSchedulingInfo,
  type LRPUpdate,
  type OpiEvent,
  type Task,
  type TaskStatus,
} from "../../model/index.ts";
import { normalizeHost, processGuid } from "../../model/index.ts";
import { OpiInvalidError, OpiNotFoundError, type OpiBackend, type RouteTarget } from "../backend.ts";
import { systemClock, type Clock } from "./clock.ts";
import { cellsFromConfig, type CellSpec } from "./cells.ts";
import { instanceEnv, taskEnv } from "./environment.ts";
import { StartError, type Executor, type ExitStatus, type ProcessHandle } from "./executor.ts";
import { place, type CellState, type PlacementRequest } from "./placement.ts";
import { diegoRestartPolicy, restartDelay, type RestartPolicy } from "./restart-policy.ts";
import type { LocalState } from "./state.ts";

/** Timeouts and intervals; all injectable so tests never wait for production values. */
export interface LocalTiming {
  /** SIGTERM -> SIGKILL grace when stopping (CF: 10 s). */
  stopGraceMs: number;
  /** Interval between health probes while an instance is starting. */
  startupProbeMs: number;
  /** Interval between liveness probes once RUNNING. */
  livenessProbeMs: number;
}

export const defaultTiming: LocalTiming = { stopGraceMs: 10_000, startupProbeMs: 20, livenessProbeMs: 5_000 };

export interface LocalBackendCore {
  config: Config;
  logger: Logger;
  state: LocalState;
  executor: Executor;
  clock?: Clock;
  timing?: Partial<LocalTiming>;
  restartPolicy?: Partial<RestartPolicy>;
  /** The appliance's API URL for VCAP_APPLICATION.cf_api. */
  cfApi?: () => string;
}

interface Slot {
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

interface Desired {
  lrp: LRP;
  slots: Slot[];
}

interface TaskRun {
  task: Task;
  status: TaskStatus;
  cell: string;
  handle?: ProcessHandle;
  cancelled: boolean;
  done?: Promise<void>;
}

const DOCKER_UNSUPPORTED = "found no compatible cell: docker images cannot run on the local backend (no container runtime); push with a buildpack or use --backend kube";

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/**
 * The local OPI backend: virtual cells on this machine, Diego's placement,
 * one process group per instance (through an Executor), health checks,
 * Diego's crash-restart policy, tasks, and re-adoption after a restart.
 * All scheduling runs on the event loop; SQLite holds what must survive.
 */
export class LocalBackend implements OpiBackend {
  readonly name = "local";
  private readonly desired = new Map<string, Desired>();
  private readonly tasks = new Map<string, TaskRun>();
  private readonly listeners = new Set<(e: OpiEvent) => void>();
  private readonly routes = new Map<string, Set<string>>();
  /** routeTargets answers per host, dropped whenever an instance changes state or routes change (the router asks per request). */
  private readonly targetCache = new Map<string, RouteTarget[]>();
  private readonly cells: CellSpec[];
  private readonly clock: Clock;
  private readonly timing: LocalTiming;
  private readonly policy: RestartPolicy;
  private readonly log: Logger;
  private convergeQueued = false;
  private stopped = false;
  private abandoned = false;
  private wakeTimer: (() => void) | undefined;

  constructor(private readonly core: LocalBackendCore) {
    this.cells = cellsFromConfig(core.config.cells);
    this.clock = core.clock ?? systemClock;
    this.timing = { ...defaultTiming, ...core.timing };
    this.policy = { ...diegoRestartPolicy, ...core.restartPolicy };
    this.log = core.logger.child({ part: "opi-local" });
  }

  // ---- LRPs -------------------------------------------------------------

  async desireLRP(input: LRP): Promise<void> {
    const parsed = LRPSchema.safeParse(input);
    if (!parsed.success) throw new OpiInvalidError(`invalid LRP: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const lrp = parsed.data;
    if (lrp.process_guid !== processGuid(lrp.guid, lrp.version)) throw new OpiInvalidError(`process_guid must be <guid>-<version> (${processGuid(lrp.guid, lrp.version)})`);
    if (this.desired.has(lrp.process_guid)) return;
    this.core.state.saveLRP(lrp, this.clock.now());
    const d: Desired = { lrp, slots: [] };
    this.desired.set(lrp.process_guid, d);
    this.indexRoutes(d);
    this.resize(d, lrp.instances);
    this.converge();
  }

  async updateLRP(update: LRPUpdate): Promise<void> {
    const pg = processGuid(update.guid, update.version);
    const d = this.desired.get(pg);
    if (!d) throw new OpiNotFoundError(`no desired LRP ${pg}`);
    const u = update.update;
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
    this.core.state.saveLRP(next, this.clock.now());
    this.unindexRoutes(d);
    d.lrp = next;
    this.indexRoutes(d);
    const stops = this.resize(d, next.instances);
    if (relaunch) for (const slot of d.slots) stops.push(this.relaunch(d, slot));
    this.converge();
    await Promise.all(stops);
  }

  async getLRP(pg: string): Promise<LRP | null> {
    const d = this.desired.get(pg);
    return d ? structuredClone(d.lrp) : null;
  }

  async listLRPs(): Promise<LRPSchedulingInfo[]> {
    return [...this.desired.values()].map(({ lrp }) => ({
      desired_lrp_key: { process_guid: lrp.process_guid },
      guid: lrp.guid,
      version: lrp.version,
      annotation: lrp.last_updated,
    }));
  }

  async stopLRP(pg: string): Promise<void> {
    const d = this.desired.get(pg);
    if (!d) return;
    this.desired.delete(pg);
    this.unindexRoutes(d);
    this.core.state.deleteLRP(pg);
    await Promise.all([...d.slots].reverse().map((s) => this.stopSlot(s)));
    this.converge();
  }

  async stopInstance(pg: string, index: number): Promise<void> {
    const d = this.desired.get(pg);
    const slot = d?.slots[index];
    if (!d || !slot) return;
    await this.relaunch(d, slot);
    this.converge();
  }

  async getInstances(pg: string): Promise<Instance[]> {
    const d = this.desired.get(pg);
    if (!d) return [];
    const first = d.lrp.ports[0] ?? 8080;
    return d.slots.map((s) => ({
      index: s.index,
      since: Math.floor(s.since / 1000),
      state: s.state,
      placement_error: s.placementError,
      crash_count: s.crashCount,
      crash_reason: s.crashReason,
      host: s.cell ? "127.0.0.1" : "",
      port: s.cell ? (s.ports.get(first) ?? 0) : 0,
      instance_guid: s.instanceGuid,
      cell: s.cell,
    }));
  }

  // ---- tasks -------------------------------------------------------------

  async desireTask(input: Task): Promise<void> {
    const parsed = TaskSchema.safeParse(input);
    if (!parsed.success) throw new OpiInvalidError(`invalid task: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const task = parsed.data;
    if (this.tasks.has(task.guid)) return;
    const run: TaskRun = {
      task,
      status: { guid: task.guid, state: "PENDING", failure_reason: "", exit_code: null, started_at: null, finished_at: null },
      cell: "",
      cancelled: false,
    };
    this.tasks.set(task.guid, run);
    this.core.state.saveTask(task, run.status, this.clock.now());
    if (task.lifecycle && "docker_lifecycle" in task.lifecycle) {
      this.finishTask(run, "FAILED", "docker images cannot run on the local backend (no container runtime)", null);
      return;
    }
    this.converge();
  }

  async getTask(guid: string): Promise<TaskStatus | null> {
    const t = this.tasks.get(guid);
    return t ? { ...t.status } : null;
  }

  async listTasks(): Promise<TaskStatus[]> {
    return [...this.tasks.values()].map((t) => ({ ...t.status }));
  }

  async cancelTask(guid: string): Promise<void> {
    const t = this.tasks.get(guid);
    if (!t || t.status.state === "SUCCEEDED" || t.status.state === "FAILED") return;
    t.cancelled = true;
    if (t.handle) {
      await this.core.executor.stop(t.handle, this.timing.stopGraceMs);
      await t.done;
    } else if (!t.cell) {
      this.finishTask(t, "FAILED", "cancelled", null);
    } else {
      await t.done;
    }
  }

  // ---- events and routes ---------------------------------------------------

  subscribe(listener: (event: OpiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  routeTargets(host: string): RouteTarget[] {
    const h = normalizeHost(host);
    const cached = this.targetCache.get(h);
    if (cached) return cached;
    const owners = this.routes.get(h);
    if (!owners) return [];
    const out: RouteTarget[] = [];
    for (const pg of owners) {
      const d = this.desired.get(pg);
      if (!d) continue;
      const port = Object.values(d.lrp.routes).flat().find((r) => normalizeHost(r.hostname) === h)?.port ?? d.lrp.ports[0] ?? 8080;
      for (const s of d.slots) {
        if (s.state !== "RUNNING") continue;
        const hostPort = s.ports.get(port) ?? s.ports.get(d.lrp.ports[0] ?? 8080);
        if (hostPort) out.push({ process_guid: pg, index: s.index, address: `127.0.0.1:${hostPort}` });
      }
    }
    if (this.targetCache.size > 10_000) this.targetCache.clear();
    this.targetCache.set(h, out);
    return out;
  }

  /** True when some desired LRP routes `host` (running or not): the router's 503-vs-404 question. */
  knowsRoute(host: string): boolean {
    return this.routes.has(normalizeHost(host));
  }

  // ---- lifecycle -----------------------------------------------------------

  async start(): Promise<void> {
    this.stopped = false;
    const { state, executor } = this.core;
    for (const lrp of state.loadLRPs()) {
      const d: Desired = { lrp, slots: [] };
      this.desired.set(lrp.process_guid, d);
      this.indexRoutes(d);
      this.resize(d, lrp.instances);
    }
    for (const { task, status } of state.loadTasks()) this.tasks.set(task.guid, { task, status, cell: "", cancelled: false });

    const keep = new Set<number>();
    const adoptedTasks = new Set<string>();
    for (const row of state.loadProcesses()) {
      const { record } = row;
      if (record.kind === "instance") {
        const d = this.desired.get(row.owner);
        const slot = d?.slots[row.index];
        if (!d || !slot || slot.handle || "docker_lifecycle" in d.lrp.lifecycle) {
          state.deleteProcess(record.guid); // no longer wanted: the sweep below kills it
          continue;
        }
        const handle = executor.adopt(record, d.lrp.memory_mb);
        keep.add(record.pgid);
        slot.instanceGuid = record.guid;
        slot.ports = new Map(row.ports);
        slot.cell = this.cells.some((c) => c.id === row.cell) ? row.cell : (this.cells[0]?.id ?? "");
        slot.crashCount = row.crashCount;
        slot.handle = handle;
        const gen = ++slot.gen;
        this.setState(d, slot, "CLAIMED");
        handle.exited.then((exit) => this.onExit(d, slot, gen, exit));
        this.probeUntilHealthy(d, slot, gen, this.clock.now() + d.lrp.start_timeout_ms);
      } else {
        const t = this.tasks.get(row.owner);
        if (!t || t.status.state !== "RUNNING") {
          state.deleteProcess(record.guid);
          continue;
        }
        keep.add(record.pgid);
        adoptedTasks.add(t.task.guid);
        t.cell = row.cell;
        t.handle = executor.adopt(record, t.task.memory_mb);
        t.done = t.handle.exited.then((exit) => this.onTaskExit(t, exit));
      }
    }
    for (const t of this.tasks.values()) {
      if (t.status.state === "RUNNING" && !adoptedTasks.has(t.task.guid)) {
        this.finishTask(t, "FAILED", "the appliance restarted and the task's process was not found", null);
      }
    }
    const killed = await executor.sweep(keep);
    this.log.info("local backend started", { lrps: this.desired.size, adopted: keep.size, orphans_killed: killed, cells: this.cells.length });
    this.converge();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeTimer?.();
    const work: Promise<void>[] = [];
    for (const d of this.desired.values()) for (const s of d.slots) work.push(this.stopSlot(s));
    for (const t of this.tasks.values()) {
      if (t.handle) {
        t.cancelled = true;
        work.push(this.core.executor.stop(t.handle, this.timing.stopGraceMs).then(() => t.done));
      }
    }
    await Promise.all(work);
    this.core.executor.close();
  }

  /**
   * Forget everything without stopping any process, as if the appliance had
   * been killed: the next backend on the same data dir re-adopts them.
   */
  abandon(): void {
    this.stopped = true;
    this.abandoned = true;
    this.wakeTimer?.();
    for (const d of this.desired.values()) for (const s of d.slots) this.cancelTimers(s), (s.gen += 1);
    this.core.executor.close();
  }

  // ---- internals: instances -------------------------------------------------

  private newSlot(d: Desired, index: number): Slot {
    const docker = "docker_lifecycle" in d.lrp.lifecycle;
    return {
      index,
      state: "UNCLAIMED",
      since: this.clock.now(),
      placementError: docker ? DOCKER_UNSUPPORTED : "",
      crashCount: 0,
      crashReason: "",
      cell: "",
      instanceGuid: "",
      ports: new Map(),
      gen: 0,
      runningSince: 0,
      restartAt: null,
      blocked: docker,
      timers: [],
    };
  }

  /** Grows or shrinks the slots; shrinking stops the highest indexes first. */
  private resize(d: Desired, n: number): Promise<void>[] {
    this.targetCache.clear();
    while (d.slots.length < n) d.slots.push(this.newSlot(d, d.slots.length));
    const removed = d.slots.splice(n).reverse();
    return removed.map((s) => this.stopSlot(s));
  }

  private async relaunch(d: Desired, slot: Slot): Promise<void> {
    await this.stopSlot(slot);
    const docker = "docker_lifecycle" in d.lrp.lifecycle;
    slot.blocked = docker;
    slot.placementError = docker ? DOCKER_UNSUPPORTED : "";
    slot.restartAt = null;
    this.setState(d, slot, "UNCLAIMED");
  }

  private async stopSlot(slot: Slot): Promise<void> {
    slot.gen++;
    this.cancelTimers(slot);
    const handle = slot.handle;
    slot.handle = undefined;
    await slot.starting?.catch(() => {});
    if (handle) {
      await this.core.executor.stop(handle, this.timing.stopGraceMs).catch((err: unknown) => this.log.warn("stop failed", { guid: handle.record.guid, error: err }));
      this.core.state.deleteProcess(handle.record.guid);
      await this.core.executor.cleanup(handle.record.guid).catch(() => {});
    }
    slot.cell = "";
  }

  private cancelTimers(slot: Slot): void {
    for (const c of slot.timers.splice(0)) c();
  }

  private setState(d: Desired, slot: Slot, state: InstanceState, reason = ""): void {
    if (slot.state === state) return;
    this.targetCache.clear();
    slot.state = state;
    slot.since = this.clock.now();
    this.emit({ type: "instance_state", process_guid: d.lrp.process_guid, index: slot.index, state, reason, at: slot.since });
  }

  private startSlot(d: Desired, slot: Slot): void {
    const gen = ++slot.gen;
    slot.instanceGuid = crypto.randomUUID();
    slot.killReason = undefined;
    slot.restartAt = null;
    this.setState(d, slot, "CLAIMED");
    const lrp = d.lrp;
    const run = async () => {
      const ports = new Map<number, number>();
      for (const p of lrp.ports) ports.set(p, await this.core.executor.freePort());
      slot.ports = ports;
      const life = "buildpack_lifecycle" in lrp.lifecycle ? lrp.lifecycle.buildpack_lifecycle : undefined;
      const handle = await this.core.executor.start({
        kind: "instance",
        guid: slot.instanceGuid,
        dropletHash: life?.droplet_hash,
        command: life?.start_command ?? "",
        env: instanceEnv({ lrp, index: slot.index, instanceGuid: slot.instanceGuid, ports, cfApi: this.core.cfApi?.() ?? "" }),
        memoryMb: lrp.memory_mb,
        log: { sourceId: lrp.app_guid, sourceType: `APP/PROC/${lrp.process_type.toUpperCase()}`, instanceId: String(slot.index) },
      });
      if (gen !== slot.gen) {
        // Stopped while starting: the stopper is waiting on us to end it.
        await this.core.executor.stop(handle, 0);
        await this.core.executor.cleanup(handle.record.guid).catch(() => {});
        return;
      }
      slot.handle = handle;
      this.core.state.saveProcess({
        record: handle.record,
        owner: lrp.process_guid,
        index: slot.index,
        ports: [...ports],
        cell: slot.cell,
        crashCount: slot.crashCount,
        startedAt: this.clock.now(),
      });
      handle.exited.then((exit) => this.onExit(d, slot, gen, exit));
      this.probeUntilHealthy(d, slot, gen, this.clock.now() + lrp.start_timeout_ms);
    };
    slot.starting = run().catch((err: unknown) => {
      if (gen !== slot.gen) return;
      slot.cell = "";
      if (err instanceof StartError) {
        // Restarting cannot help until the LRP changes: report it once and wait.
        slot.blocked = true;
        slot.crashReason = err.message;
        slot.crashCount++;
        this.setState(d, slot, "CRASHED", err.message);
        this.emitCrash(d, slot, -1, err.message);
        this.converge();
        return;
      }
      this.log.error("instance failed to start", { process_guid: lrp.process_guid, index: slot.index, error: err });
      this.crashed(d, slot, -1, `failed to start: ${(err as Error).message}`, `failed to start: ${(err as Error).message}`);
    });
  }

  private probeSpec(d: Desired, slot: Slot) {
    const first = d.lrp.ports[0] ?? 8080;
    return { type: d.lrp.health_check_type, port: slot.ports.get(first) ?? first, path: d.lrp.health_check_http_endpoint || "/", timeoutMs: d.lrp.health_check_timeout_ms || 1000 };
  }

  private probeUntilHealthy(d: Desired, slot: Slot, gen: number, deadline: number): void {
    const tick = async () => {
      const handle = slot.handle;
      if (gen !== slot.gen || !handle || this.stopped) return;
      const res = await this.core.executor.probe(handle, this.probeSpec(d, slot));
      if (gen !== slot.gen || slot.state !== "CLAIMED" || this.stopped) return;
      if (res.ok) {
        slot.runningSince = this.clock.now();
        slot.placementError = "";
        this.setState(d, slot, "RUNNING");
        slot.timers.push(this.clock.setTimeout(() => void this.liveness(d, slot, gen), this.timing.livenessProbeMs));
        return;
      }
      if (this.clock.now() >= deadline) {
        const secs = Math.round(d.lrp.start_timeout_ms / 1000);
        this.kill(slot, handle, `Instance never healthy after ${secs}s: ${res.message}`);
        return;
      }
      slot.timers.push(this.clock.setTimeout(() => void tick(), this.timing.startupProbeMs));
    };
    void tick();
  }

  private async liveness(d: Desired, slot: Slot, gen: number): Promise<void> {
    const handle = slot.handle;
    if (gen !== slot.gen || !handle || this.stopped) return;
    const res = await this.core.executor.probe(handle, this.probeSpec(d, slot));
    if (gen !== slot.gen || this.stopped) return;
    if (!res.ok) return this.kill(slot, handle, `health check failed: ${res.message}`);
    slot.timers.push(this.clock.setTimeout(() => void this.liveness(d, slot, gen), this.timing.livenessProbeMs));
  }

  /** Kills an unhealthy instance at once; its exit is then reported as a crash with `reason`. */
  private kill(slot: Slot, handle: ProcessHandle, reason: string): void {
    slot.killReason = reason;
    void this.core.executor.stop(handle, 0);
  }

  private onExit(d: Desired, slot: Slot, gen: number, exit: ExitStatus): void {
    if (gen !== slot.gen || this.stopped) return;
    this.cancelTimers(slot);
    const handle = slot.handle;
    slot.handle = undefined;
    if (handle) {
      this.core.state.deleteProcess(handle.record.guid);
      void this.core.executor.cleanup(handle.record.guid).catch(() => {});
    }
    const status = exit.outOfMemory ? 137 : (exit.code ?? (exit.signal ? 128 + (SIGNALS[exit.signal] ?? 0) : -1));
    const kind = `APP/PROC/${d.lrp.process_type.toUpperCase()}`;
    const description = exit.outOfMemory
      ? `${kind}: Exited with status 137 (out of memory)`
      : exit.code === null && !exit.signal
        ? `${kind}: Exited (status unknown: the process ended while the appliance was down)`
        : `${kind}: Exited with status ${status}`;
    const reason = exit.outOfMemory ? "out of memory" : (slot.killReason ?? description);
    this.crashed(d, slot, status, reason, description);
  }

  private crashed(d: Desired, slot: Slot, status: number, reason: string, description: string): void {
    const now = this.clock.now();
    if (slot.state === "RUNNING" && now - slot.runningSince >= this.policy.crashResetMs) slot.crashCount = 0;
    slot.cell = "";
    slot.crashCount++;
    slot.crashReason = reason;
    const delay = restartDelay(this.policy, slot.crashCount);
    slot.restartAt = delay === null ? null : now + delay;
    this.setState(d, slot, "CRASHED", reason);
    this.emitCrash(d, slot, status, description);
    if (delay === null) this.log.warn("instance crashed too often: giving up", { process_guid: d.lrp.process_guid, index: slot.index, crashes: slot.crashCount });
    this.converge();
  }

  private emitCrash(d: Desired, slot: Slot, status: number, description: string): void {
    this.emit({
      type: "crash",
      process_guid: d.lrp.process_guid,
      instance: slot.instanceGuid,
      index: slot.index,
      reason: slot.crashReason,
      exit_status: status,
      exit_description: description,
      crash_count: slot.crashCount,
      crash_timestamp: this.clock.now() * 1_000_000,
    });
  }

  // ---- internals: tasks --------------------------------------------------------

  private startTask(t: TaskRun): void {
    const task = t.task;
    t.status = { ...t.status, state: "RUNNING", started_at: Math.floor(this.clock.now() / 1000) };
    this.core.state.saveTask(task, t.status, this.clock.now());
    const life = task.lifecycle && "buildpack_lifecycle" in task.lifecycle ? task.lifecycle.buildpack_lifecycle : undefined;
    t.done = (async () => {
      let handle: ProcessHandle;
      try {
        handle = await this.core.executor.start({
          kind: "task",
          guid: task.guid,
          dropletHash: life?.droplet_hash,
          command: task.command,
          env: taskEnv(task, this.core.cfApi?.() ?? ""),
          memoryMb: task.memory_mb,
          log: { sourceId: task.app_guid, sourceType: `APP/TASK/${task.name || task.guid}`, instanceId: "0" },
        });
      } catch (err) {
        this.finishTask(t, "FAILED", err instanceof StartError ? err.message : `failed to start: ${(err as Error).message}`, null);
        return;
      }
      t.handle = handle;
      this.core.state.saveProcess({ record: handle.record, owner: task.guid, index: 0, ports: [], cell: t.cell, crashCount: 0, startedAt: this.clock.now() });
      if (t.cancelled) void this.core.executor.stop(handle, this.timing.stopGraceMs);
      await handle.exited.then((exit) => this.onTaskExit(t, exit));
    })();
  }

  private onTaskExit(t: TaskRun, exit: ExitStatus): void {
    if (this.abandoned) return;
    if (t.handle) {
      this.core.state.deleteProcess(t.handle.record.guid);
      void this.core.executor.cleanup(t.handle.record.guid).catch(() => {});
    }
    t.handle = undefined;
    if (this.stopped && t.cancelled) return; // appliance shutdown: the next start reports it
    if (t.cancelled) return this.finishTask(t, "FAILED", "cancelled", exit.code);
    if (exit.outOfMemory) return this.finishTask(t, "FAILED", "Exited with status 137 (out of memory)", 137);
    if (exit.code === 0) return this.finishTask(t, "SUCCEEDED", "", 0);
    const status = exit.code ?? (exit.signal ? 128 + (SIGNALS[exit.signal] ?? 0) : null);
    this.finishTask(t, "FAILED", status === null ? "the task ended while the appliance was down (exit status unknown)" : `Exited with status ${status}`, status);
  }

  private finishTask(t: TaskRun, state: "SUCCEEDED" | "FAILED", reason: string, code: number | null): void {
    t.cell = "";
    t.status = { ...t.status, state, failure_reason: reason, exit_code: code, finished_at: Math.floor(this.clock.now() / 1000) };
    this.core.state.saveTask(t.task, t.status, this.clock.now());
    this.emit({ type: "task_completed", task_guid: t.task.guid, state, failed: state === "FAILED", failure_reason: reason, at: this.clock.now() });
    this.converge();
  }

  // ---- internals: scheduling ---------------------------------------------------

  /** Places whatever waits for a cell; coalesced so a burst of changes runs one auction. */
  private converge(): void {
    if (this.convergeQueued || this.stopped) return;
    this.convergeQueued = true;
    queueMicrotask(() => {
      this.convergeQueued = false;
      if (!this.stopped) this.auction();
    });
  }

  private auction(): void {
    const now = this.clock.now();
    const requests: PlacementRequest[] = [];
    const slotOf = new Map<string, [Desired, Slot]>();
    let nextWake = Infinity;
    for (const d of this.desired.values()) {
      for (const s of d.slots) {
        if (s.blocked || s.cell) continue;
        const waiting = s.state === "UNCLAIMED" || (s.state === "CRASHED" && s.restartAt !== null);
        if (!waiting) continue;
        if (s.state === "CRASHED" && s.restartAt! > now) {
          nextWake = Math.min(nextWake, s.restartAt!);
          continue;
        }
        const key = `${d.lrp.process_guid}\u0000${s.index}`;
        slotOf.set(key, [d, s]);
        requests.push({ process_guid: d.lrp.process_guid, index: s.index, memory_mb: d.lrp.memory_mb, disk_mb: d.lrp.disk_mb, placement_tags: d.lrp.placement_tags });
      }
    }
    for (const t of this.tasks.values()) {
      if (t.status.state !== "PENDING" || t.cell || t.cancelled) continue;
      requests.push({ process_guid: `task:${t.task.guid}`, index: 0, memory_mb: t.task.memory_mb, disk_mb: t.task.disk_mb, placement_tags: [] });
    }
    this.scheduleWake(nextWake);
    if (requests.length === 0) return;

    const { placed, unplaced } = place(this.cellStates(), requests, this.core.config.cells.binPackWeight);
    for (const { request, cell } of placed) {
      if (request.process_guid.startsWith("task:")) {
        const t = this.tasks.get(request.process_guid.slice(5))!;
        t.cell = cell;
        this.startTask(t);
        continue;
      }
      const [d, s] = slotOf.get(`${request.process_guid}\u0000${request.index}`)!;
      s.cell = cell;
      s.placementError = "";
      this.startSlot(d, s);
    }
    for (const { request, error } of unplaced) {
      if (request.process_guid.startsWith("task:")) {
        // Diego fails a task no cell can take rather than queueing it forever.
        this.finishTask(this.tasks.get(request.process_guid.slice(5))!, "FAILED", error, null);
        continue;
      }
      const [d, s] = slotOf.get(`${request.process_guid}\u0000${request.index}`)!;
      s.placementError = error;
      s.restartAt = null;
      if (s.state !== "UNCLAIMED") this.setState(d, s, "UNCLAIMED", error);
    }
  }

  private scheduleWake(at: number): void {
    this.wakeTimer?.();
    this.wakeTimer = undefined;
    if (!Number.isFinite(at)) return;
    this.wakeTimer = this.clock.setTimeout(() => this.converge(), Math.max(0, at - this.clock.now()));
  }

  private cellStates(): CellState[] {
    const usage = new Map(this.cells.map((c) => [c.id, { m: 0, d: 0, n: 0, starting: 0, counts: new Map<string, number>() }]));
    for (const d of this.desired.values()) {
      for (const s of d.slots) {
        const u = s.cell ? usage.get(s.cell) : undefined;
        if (!u) continue;
        u.m += d.lrp.memory_mb;
        u.d += d.lrp.disk_mb;
        u.n += 1;
        if (s.state !== "RUNNING") u.starting += 1;
        u.counts.set(d.lrp.process_guid, (u.counts.get(d.lrp.process_guid) ?? 0) + 1);
      }
    }
    for (const t of this.tasks.values()) {
      const u = t.cell ? usage.get(t.cell) : undefined;
      if (!u) continue;
      u.m += t.task.memory_mb;
      u.d += t.task.disk_mb;
      u.n += 1;
    }
    return this.cells.map((c) => {
      const u = usage.get(c.id)!;
      return { ...c, usedMemoryMb: u.m, usedDiskMb: u.d, usedInstances: u.n, starting: u.starting, processCounts: u.counts };
    });
  }

  private indexRoutes(d: Desired): void {
    this.targetCache.clear();
    for (const r of Object.values(d.lrp.routes).flat()) {
      const h = normalizeHost(r.hostname);
      let set = this.routes.get(h);
      if (!set) this.routes.set(h, (set = new Set()));
      set.add(d.lrp.process_guid);
    }
  }

  private unindexRoutes(d: Desired): void {
    this.targetCache.clear();
    for (const r of Object.values(d.lrp.routes).flat()) {
      const h = normalizeHost(r.hostname);
      const set = this.routes.get(h);
      set?.delete(d.lrp.process_guid);
      if (set?.size === 0) this.routes.delete(h);
    }
  }

  private emit(event: OpiEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.warn("event listener failed", { error: err });
      }
    }
  }
}
