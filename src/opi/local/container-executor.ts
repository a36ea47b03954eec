import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { ContainerHost, diskUsageBytes, ImageError, pullImage, resolveImageUser, type ContainerInfo, type PulledImage } from "../../container/index.ts";
import type { Logger } from "../../log/index.ts";
import type { LogSink } from "../../model/index.ts";
import { DropletCache, removeTree } from "./droplet.ts";
import { DropletLayers } from "./droplet-layer.ts";
import {
  StartError,
  type Executor,
  type ExitStatus,
  type ProbeResult,
  type ProbeSpec,
  type ProcessHandle,
  type ProcessRecord,
  type RunSpec,
  type RunUsage,
} from "./executor.ts";
import { LogTail } from "./log-tail.ts";
import { logRateLimiter } from "../log-rate.ts";
import { listPids, readEnvVar, readStat, signalGroup } from "./proc.ts";
import { probeAddress } from "./probes.ts";

export interface ContainerExecutorOptions {
  /** `<dataDir>/opi-local`: droplets, layers, run logs and container state live under it. */
  root: string;
  dropletPath: (hash: string) => string;
  /** The stack's root filesystem directory (resolved once, on first start). */
  stackRootfs: () => Promise<string>;
  logs: LogSink;
  logger: Logger;
  /** Bridge name override (default: derived from the data dir). */
  bridge?: string;
  /** Per-container process/thread limit (Diego's default: 1024). */
  pidsLimit?: number;
  /** How often exits are noticed and logs read. */
  logPollMs?: number;
  /** How often each container's writable layer is measured against its disk limit. */
  diskPollMs?: number;
  maxLogBacklogBytes?: number;
  /** Host TCP ports apps may connect to: the appliance's port when it listens beyond loopback (apps then reach each other through routes). */
  openPorts?: () => number[];
  /** Credentials for images on a registry the appliance knows (its own embedded one), by registry host. */
  registryAuth?: (host: string) => { username: string; password: string } | undefined;
}

interface Run {
  record: ProcessRecord;
  info: ContainerInfo;
  tails: LogTail[];
  diskBytes: number;
  diskLimit: number;
  outOfDisk: boolean;
  measuring: boolean;
  finishing: boolean;
  /** CPU time at the last usage sample, to report a fraction of a core. */
  cpuSample?: { nanos: number; at: number; cpu: number };
  resolve: (s: ExitStatus) => void;
  exited: Promise<ExitStatus>;
}

const HOME = "/home/vcap";

// What CF's launcher does before the start command: profile scripts of the buildpacks, then of the app.
const LAUNCHER = [
  'cd "$HOME" || exit 1',
  'if [ -d ../profile.d ]; then for __f in ../profile.d/*.sh; do [ -f "$__f" ] && . "$__f"; done; fi',
  'if [ -d .profile.d ]; then for __f in .profile.d/*.sh; do [ -f "$__f" ] && . "$__f"; done; fi',
  'if [ -f .profile ]; then . ./.profile; fi',
  "unset __f",
].join("\n");

/**
 * The Garden-grade executor: every instance and task is a runc container
 * (`src/container`) whose root filesystem is the stack (read-only) under the
 * droplet layer (read-only, `/home/vcap` as CF lays it out) under a writable
 * layer of its own; it runs as vcap (uid 2000) with no capabilities,
 * no_new_privs and seccomp, in its own PID, mount, IPC, UTS and network
 * namespaces, with its memory, pids and CPU shares set by cgroups and its
 * writable layer measured against its disk limit. The router and health
 * checks reach it at its IP on the appliance's bridge; the app listens on
 * $PORT inside its own namespace.
 *
 * Disk policy: measured and enforced (not a quota filesystem). The writable
 * layer is measured with `du` every `diskPollMs`; over `disk_mb` the
 * container is killed and the crash reported as "disk quota exceeded". A
 * per-container quota filesystem (loop device with ext4, or XFS project
 * quotas) would need an mkfs per start (far beyond the start budget) or a
 * data dir on XFS with prjquota; measuring works on any filesystem and
 * bounds an overrun to what can be written in one period.
 */
export class ContainerExecutor implements Executor {
  readonly isolation = "container" as const;
  readonly runsImages = true;
  private readonly images: ImageCache;
  readonly host: ContainerHost;
  private readonly runs = new Map<string, Run>();
  private readonly droplets: DropletCache;
  private readonly layers: DropletLayers;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private stack: Promise<string> | undefined;

  constructor(private readonly opts: ContainerExecutorOptions) {
    mkdirSync(join(opts.root, "runs"), { recursive: true });
    this.droplets = new DropletCache(opts.root, opts.dropletPath);
    this.layers = new DropletLayers(opts.root, this.droplets);
    this.images = new ImageCache(join(opts.root, "images"));
    this.host = new ContainerHost({ stateDir: join(opts.root, "containers"), ...(opts.bridge ? { bridge: opts.bridge } : {}), ...(opts.openPorts ? { openPorts: opts.openPorts } : {}) });
    const poll = setInterval(() => this.pollRuns(), opts.logPollMs ?? 100);
    const disk = setInterval(() => void this.measureDisks(), opts.diskPollMs ?? 5000);
    poll.unref();
    disk.unref();
    this.timers.push(poll, disk);
    // An imported stack is unpacked once; start now so the first push does not wait for it.
    void this.stackRootfs().catch((err: unknown) => opts.logger.warn("the stack cannot be unpacked yet", { error: err }));
  }

  private get logLimits() {
    const maxBacklog = this.opts.maxLogBacklogBytes ?? 8 * 1024 * 1024;
    return { maxBacklog, truncateAt: Math.min(1024 * 1024, maxBacklog), maxLine: 64 * 1024 };
  }

  private runDir(guid: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(guid)) throw new StartError(`invalid run id ${JSON.stringify(guid)}`);
    return join(this.opts.root, "runs", guid);
  }

  /** The stack's rootfs directory (unpacked on first use); staging in containers shares it. */
  stackRootfs(): Promise<string> {
    this.stack ??= this.opts.stackRootfs().catch((err) => {
      this.stack = undefined;
      throw new StartError(`no stack root filesystem for containers: ${(err as Error).message}`, { cause: err });
    });
    return this.stack;
  }

  /** Every container has its own network namespace: the app's port is its own. */
  async freePort(containerPort?: number): Promise<number> {
    return containerPort ?? 8080;
  }

  async start(spec: RunSpec): Promise<ProcessHandle> {
    if (spec.image) return this.startImage(spec, spec.image);
    const dir = this.runDir(spec.guid);
    const stack = await this.stackRootfs();
    const layer = spec.dropletHash ? await this.layers.layer(spec.dropletHash) : undefined;
    const command = spec.command.trim() || (layer ? this.droplets.startCommand(join(layer, "home", "vcap")).trim() : "");
    if (!command) throw new StartError("the droplet has no start command (staging_info.yml start_command is empty and none was given)");
    await removeTree(dir);
    mkdirSync(dir, { recursive: true });
    for (const f of ["stdout", "stderr"]) closeSync(openSync(join(dir, f), "a"));
    const env = (ip: string): Record<string, string> => {
      const e: Record<string, string> = { PATH: "/usr/local/bin:/usr/bin:/bin", ...spec.env, HOME: `${HOME}/app`, TMPDIR: `${HOME}/tmp`, DEPS_DIR: `${HOME}/deps` };
      return withInstanceAddress(e, ip);
    };
    let info: ContainerInfo;
    try {
      info = await this.host.create({
        id: spec.guid,
        lowers: layer ? [layer, stack] : [stack],
        vcapDirs: [`${HOME}/app`, `${HOME}/tmp`, `${HOME}/logs`],
        args: ["/bin/sh", "-c", `${LAUNCHER}\n${command}`],
        env,
        cwd: `${HOME}/app`,
        memoryBytes: spec.memoryMb * 1024 * 1024,
        pidsLimit: this.opts.pidsLimit ?? 1024,
        stdout: join(dir, "stdout"),
        stderr: join(dir, "stderr"),
      });
    } catch (err) {
      await removeTree(dir);
      throw new Error(`cannot start container: ${(err as Error).message}`, { cause: err });
    }
    const record: ProcessRecord = { guid: spec.guid, kind: spec.kind, pid: info.pid, pgid: info.pid, startTicks: info.startTicks, log: spec.log, host: info.ip };
    return this.track(record, info, spec.diskMb, false);
  }

  /** A docker-lifecycle run: the image's rootfs, user, ENTRYPOINT/CMD, env and EXPOSEd port, CF's env on top. */
  private async startImage(spec: RunSpec, image: NonNullable<RunSpec["image"]>): Promise<ProcessHandle> {
    const dir = this.runDir(spec.guid);
    let pulled: PulledImage;
    let user: { uid: number; gid: number };
    try {
      const own = image.username ? undefined : this.opts.registryAuth?.(image.ref.replace(/^docker:\/\//, "").split("/")[0] ?? "");
      pulled = await this.images.pull(image.ref, own ?? { username: image.username, password: image.password });
      user = resolveImageUser(pulled.rootfs, pulled.config.user);
    } catch (err) {
      if (err instanceof ImageError) throw new StartError(err.message, { cause: err });
      throw err;
    }
    const c = pulled.config;
    const argv = image.command.length > 0 ? image.command : [...c.entrypoint, ...c.cmd];
    if (argv.length === 0) throw new StartError(`the image ${image.ref} has no ENTRYPOINT or CMD and no command was given`);
    const appPort = c.exposedPorts[0];
    await removeTree(dir);
    mkdirSync(dir, { recursive: true });
    for (const f of ["stdout", "stderr"]) closeSync(openSync(join(dir, f), "a"));
    const env = (ip: string): Record<string, string> => {
      const e: Record<string, string> = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: user.uid === 0 ? "/root" : "/home/vcap", ...c.env, ...spec.env };
      // CF gives a docker app its first EXPOSEd port as $PORT.
      if (appPort) {
        e.PORT = String(appPort);
        e.CF_INSTANCE_PORT = String(appPort);
        e.CF_INSTANCE_PORTS = JSON.stringify([{ external: appPort, internal: appPort }]);
      }
      return withInstanceAddress(e, ip);
    };
    let info: ContainerInfo;
    try {
      info = await this.host.create({
        id: spec.guid,
        lowers: [pulled.rootfs],
        user,
        args: argv,
        env,
        cwd: c.workingDir,
        memoryBytes: spec.memoryMb * 1024 * 1024,
        pidsLimit: this.opts.pidsLimit ?? 1024,
        stdout: join(dir, "stdout"),
        stderr: join(dir, "stderr"),
      });
    } catch (err) {
      await removeTree(dir);
      throw new Error(`cannot start container: ${(err as Error).message}`, { cause: err });
    }
    const record: ProcessRecord = { guid: spec.guid, kind: spec.kind, pid: info.pid, pgid: info.pid, startTicks: info.startTicks, log: spec.log, host: info.ip, ...(appPort ? { appPort } : {}) };
    return this.track(record, info, spec.diskMb, false);
  }

  private track(record: ProcessRecord, info: ContainerInfo, diskMb: number | undefined, fromEnd: boolean): ProcessHandle {
    let resolve!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolve = r));
    const run: Run = {
      record,
      info,
      tails: this.tails(record, fromEnd),
      diskBytes: 0,
      diskLimit: diskMb ? diskMb * 1024 * 1024 : Number.POSITIVE_INFINITY,
      outOfDisk: false,
      measuring: false,
      finishing: false,
      resolve,
      exited,
    };
    this.runs.set(record.guid, run);
    return { record, exited };
  }

  private tails(record: ProcessRecord, fromEnd: boolean): LogTail[] {
    const dir = this.runDir(record.guid);
    const tags = { source_id: record.log.sourceId, source_type: record.log.sourceType, instance_id: record.log.instanceId };
    // CF's log rate limit, shared by the run's stdout and stderr.
    const rate = logRateLimiter(record.log.rateLimit);
    return [
      new LogTail(join(dir, "stdout"), this.opts.logs, { ...tags, stream: "OUT" }, fromEnd, this.logLimits, rate),
      new LogTail(join(dir, "stderr"), this.opts.logs, { ...tags, stream: "ERR" }, fromEnd, this.logLimits, rate),
    ];
  }

  /** PID 1 is gone: read how it ended, remove the container (cgroup, mount, network), flush logs, report. */
  private async finish(run: Run): Promise<void> {
    if (run.finishing) return;
    run.finishing = true;
    const { code, oomKilled } = this.host.exitInfo(run.record.guid);
    for (const t of run.tails) t.close();
    this.runs.delete(run.record.guid);
    // Its processes are all gone (PID 1 ended the namespace): removing cgroup, mount and network need not delay the report.
    this.host.destroyLater(run.record.guid, (err) => this.opts.logger.warn("container cleanup failed", { guid: run.record.guid, error: err }));
    const killed = code === null || code === 137;
    run.resolve({
      code: run.outOfDisk || oomKilled ? (code ?? 137) : code,
      signal: code === null ? "SIGKILL" : null,
      outOfMemory: oomKilled && killed,
      outOfDisk: run.outOfDisk,
    });
  }

  async stop(handle: ProcessHandle, graceMs: number): Promise<void> {
    const run = this.runs.get(handle.record.guid);
    // Not (or no longer) ours: already ended, or this executor was closed and another one owns it now.
    if (!run) return;
    if (!this.host.signal(run.info, graceMs > 0 ? "SIGTERM" : "SIGKILL")) {
      await handle.exited;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<"grace">((r) => (timer = setTimeout(() => r("grace"), graceMs)));
    const first = await Promise.race([handle.exited, graceOver]);
    clearTimeout(timer);
    if (first === "grace") this.host.signal(run.info, "SIGKILL");
    await handle.exited;
  }

  async probe(handle: ProcessHandle, spec: ProbeSpec): Promise<ProbeResult> {
    const run = this.runs.get(handle.record.guid);
    if (spec.type === "process") {
      return run && this.host.alive(run.info) ? { ok: true, message: "" } : { ok: false, message: "process is not running" };
    }
    return probeAddress(handle.record.host || "127.0.0.1", spec);
  }

  adopt(record: ProcessRecord, _memoryMb: number, diskMb?: number): ProcessHandle {
    const info = this.host.info(record.guid);
    if (!info || info.pid !== record.pid || !this.host.alive(info)) {
      const ended = info ? this.host.exitInfo(record.guid) : { code: null, oomKilled: false };
      this.host.destroyLater(record.guid);
      return { record: { ...record, host: info?.ip ?? "" }, exited: Promise.resolve({ code: ended.code, signal: null, outOfMemory: ended.oomKilled }) };
    }
    return this.track({ ...record, host: info.ip }, info, diskMb, true);
  }

  async sweep(keep: ReadonlySet<number>): Promise<number> {
    let killed = 0;
    for (const id of this.host.list()) {
      const info = this.host.info(id);
      if (info && keep.has(info.pid) && this.host.alive(info)) continue;
      if (info && this.host.alive(info)) killed++;
      await this.host.destroy(id).catch((err: unknown) => this.opts.logger.warn("cannot remove leftover container", { id, error: err }));
      await removeTree(join(this.opts.root, "runs", id)).catch(() => {});
    }
    if (killed) this.opts.logger.warn("removed leftover containers", { containers: killed });
    // Plain processes from a run in process mode on this data dir are leftovers too now.
    let groups = 0;
    for (const pid of listPids()) {
      if (pid === process.pid || readEnvVar(pid, "EIRINI_CELL_ROOT") !== this.opts.root) continue;
      const st = readStat(pid);
      if (st && signalGroup(st.pgrp, "SIGKILL")) groups++;
    }
    if (groups) this.opts.logger.warn("killed processes left from process isolation", { groups });
    return killed + groups;
  }

  async cleanup(guid: string): Promise<void> {
    if (this.runs.has(guid)) return;
    await removeTree(this.runDir(guid));
  }

  /** From the container's cgroup (memory, CPU time) and the last measurement of its writable layer. */
  usage(handle: ProcessHandle): RunUsage | null {
    const run = this.runs.get(handle.record.guid);
    if (!run) return null;
    const u = this.host.usage(run.record.guid);
    if (!u) return null;
    const now = Date.now();
    const prev = run.cpuSample;
    let cpu = prev?.cpu ?? 0;
    if (!prev || now - prev.at >= 500) {
      if (prev) cpu = Math.max(0, u.cpuNanos - prev.nanos) / ((now - prev.at) * 1e6);
      run.cpuSample = { nanos: u.cpuNanos, at: now, cpu };
    }
    return { time: new Date(now).toISOString(), cpu, mem: u.memoryBytes, disk: run.diskBytes };
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const run of this.runs.values()) for (const t of run.tails) t.close();
    this.runs.clear();
  }

  async shutdown(): Promise<void> {
    await this.host.teardownIfIdle().catch((err: unknown) => this.opts.logger.warn("cannot remove the container bridge", { error: err }));
  }

  private pollRuns(): void {
    for (const run of [...this.runs.values()]) {
      for (const t of run.tails) t.poll();
      if (!run.finishing && !this.host.alive(run.info)) void this.finish(run);
    }
  }

  private async measureDisks(): Promise<void> {
    for (const run of [...this.runs.values()]) {
      if (run.measuring || run.finishing || !Number.isFinite(run.diskLimit)) continue;
      run.measuring = true;
      try {
        run.diskBytes = await diskUsageBytes(this.host.upper(run.record.guid));
        if (run.diskBytes > run.diskLimit && !run.outOfDisk) {
          run.outOfDisk = true;
          this.opts.logger.info("instance over its disk limit: killing it", { guid: run.record.guid, disk_mb: Math.round(run.diskBytes / 1048576) });
          this.host.signal(run.info, "SIGKILL");
        }
      } finally {
        run.measuring = false;
      }
    }
  }
}

/** One pull at a time per image reference; every start pulls (a moved tag is seen), unchanged layers are not fetched again. */
class ImageCache {
  private readonly inflight = new Map<string, Promise<PulledImage>>();
  constructor(private readonly dir: string) {}

  pull(ref: string, creds: { username?: string; password?: string }): Promise<PulledImage> {
    let p = this.inflight.get(ref);
    if (!p) {
      p = pullImage(ref, this.dir, creds).finally(() => this.inflight.delete(ref));
      this.inflight.set(ref, p);
    }
    return p;
  }
}

/** The network is the container's own: its address (when it has one) is what other parties see. */
function withInstanceAddress(e: Record<string, string>, ip: string): Record<string, string> {
  if (ip) {
    e.CF_INSTANCE_IP = ip;
    e.CF_INSTANCE_INTERNAL_IP = ip;
    if (e.PORT) e.CF_INSTANCE_ADDR = `${ip}:${e.PORT}`;
  }
  return e;
}
