import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log/index.ts";
import type { LogSink } from "../../model/index.ts";
import { DropletCache, layoutHome, removeTree } from "./droplet.ts";
import {
  StartError,
  type Executor,
  type ExitStatus,
  type ProbeResult,
  type ProbeSpec,
  type ProcessHandle,
  type ProcessRecord,
  type RunSpec,
} from "./executor.ts";
import type { InstanceUsage } from "../../model/index.ts";
import { LogTail } from "./log-tail.ts";
import { CLOCK_TICKS, groupUsage, listPids, readEnvVar, readStat, signalGroup } from "./proc.ts";
import { treeBytes } from "./disk-usage.ts";
import { probeAddress } from "./probes.ts";

export interface ProcessExecutorOptions {
  /** Where droplets are unpacked and runs live (`<dataDir>/opi-local`). */
  root: string;
  /** Path of a droplet .tgz by its hash (the blob store). */
  dropletPath: (hash: string) => string;
  logs: LogSink;
  logger: Logger;
  /** How often group RSS is compared with the memory limit. */
  memoryPollMs?: number;
  /** How often stdout/stderr files are read (and adopted processes checked). */
  logPollMs?: number;
  /** Unread log bytes beyond which output is dropped with a notice (flood guard). */
  maxLogBacklogBytes?: number;
}

interface Run {
  record: ProcessRecord;
  memoryBytes: number;
  tails: LogTail[];
  outOfMemory: boolean;
  /** Set for processes re-attached after a restart: not our children, so liveness is polled. */
  adopted?: (status: ExitStatus) => void;
  exited: Promise<ExitStatus>;
  /** Last measurement (memory watch): what `usage()` reports, and the CPU ticks to diff against. */
  usage?: InstanceUsage & { ticks: number; at: number; diskAt: number };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The real executor: each run is `/bin/sh -c <launcher>` in its own session
 * and process group (so signals and memory accounting cover every child it
 * forks), in a home laid out like a container's `/home/vcap`, with stdout and
 * stderr appended to files the executor tails into the LogSink.
 */
export class ProcessExecutor implements Executor {
  readonly isolation = "process" as const;
  private readonly runs = new Map<string, Run>();
  private readonly droplets: DropletCache;
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly opts: ProcessExecutorOptions) {
    mkdirSync(join(opts.root, "runs"), { recursive: true });
    this.droplets = new DropletCache(opts.root, opts.dropletPath);
    const mem = setInterval(() => this.watchMemory(), opts.memoryPollMs ?? 1000);
    const logs = setInterval(() => this.pollRuns(), opts.logPollMs ?? 100);
    mem.unref();
    logs.unref();
    this.timers.push(mem, logs);
  }

  private get logLimits() {
    const maxBacklog = this.opts.maxLogBacklogBytes ?? 8 * 1024 * 1024;
    return { maxBacklog, truncateAt: Math.min(1024 * 1024, maxBacklog), maxLine: 64 * 1024 };
  }

  private runDir(guid: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(guid)) throw new StartError(`invalid run id ${JSON.stringify(guid)}`);
    return join(this.opts.root, "runs", guid);
  }

  async freePort(): Promise<number> {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    return port;
  }

  async start(spec: RunSpec): Promise<ProcessHandle> {
    const dir = this.runDir(spec.guid);
    const home = join(dir, "home");
    const dropletDir = spec.dropletHash ? await this.droplets.unpacked(spec.dropletHash) : undefined;
    const command = spec.command.trim() || (dropletDir ? this.droplets.startCommand(dropletDir).trim() : "");
    if (!command) throw new StartError("the droplet has no start command (staging_info.yml start_command is empty and none was given)");
    await removeTree(dir);
    await layoutHome(home, dropletDir);
    const script = [
      'cd "$HOME" || exit 1',
      'if [ -d ../profile.d ]; then for __f in ../profile.d/*.sh; do [ -f "$__f" ] && . "$__f"; done; fi',
      'if [ -d .profile.d ]; then for __f in .profile.d/*.sh; do [ -f "$__f" ] && . "$__f"; done; fi',
      'if [ -f .profile ]; then . ./.profile; fi',
      "unset __f",
      // Records the exit status (even after `exit N` in the command) for re-adoption after an appliance restart.
      `trap 'printf "%s" "$?" > ${shq(join(dir, "exit_status")).replace(/'/g, `'"'"'`)}' EXIT`,
      command,
    ].join("\n");
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      ...spec.env,
      HOME: join(home, "app"),
      TMPDIR: join(home, "tmp"),
      DEPS_DIR: join(home, "deps"),
      EIRINI_CELL_ROOT: this.opts.root,
      EIRINI_RUN_GUID: spec.guid,
    };
    const out = openSync(join(dir, "stdout"), "a");
    const err = openSync(join(dir, "stderr"), "a");
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      proc = Bun.spawn(["/bin/sh", "-c", script], { cwd: join(home, "app"), env, stdin: "ignore", stdout: out, stderr: err, detached: true });
    } catch (e) {
      throw new StartError(`cannot start /bin/sh: ${(e as Error).message}`, { cause: e });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const record: ProcessRecord = {
      guid: spec.guid,
      kind: spec.kind,
      pid: proc.pid,
      pgid: proc.pid,
      startTicks: readStat(proc.pid)?.startTicks ?? "",
      log: spec.log,
    };
    const run: Run = { record, memoryBytes: spec.memoryMb * 1024 * 1024, tails: this.tails(record, false), outOfMemory: false, exited: undefined! };
    run.exited = proc.exited.then(() => this.finish(run, { code: proc.signalCode ? null : proc.exitCode, signal: proc.signalCode ? String(proc.signalCode) : null }));
    this.runs.set(spec.guid, run);
    return { record, exited: run.exited };
  }

  private tails(record: ProcessRecord, fromEnd: boolean): LogTail[] {
    const dir = this.runDir(record.guid);
    const tags = { source_id: record.log.sourceId, source_type: record.log.sourceType, instance_id: record.log.instanceId };
    return [
      new LogTail(join(dir, "stdout"), this.opts.logs, { ...tags, stream: "OUT" }, fromEnd, this.logLimits),
      new LogTail(join(dir, "stderr"), this.opts.logs, { ...tags, stream: "ERR" }, fromEnd, this.logLimits),
    ];
  }

  /** The leader is gone: kill what it left in its group, flush logs, report. */
  private finish(run: Run, status: { code: number | null; signal: string | null }): ExitStatus {
    signalGroup(run.record.pgid, "SIGKILL");
    for (const t of run.tails) t.close();
    this.runs.delete(run.record.guid);
    return { ...status, outOfMemory: run.outOfMemory };
  }

  async stop(handle: ProcessHandle, graceMs: number): Promise<void> {
    const { pgid } = handle.record;
    if (!signalGroup(pgid, "SIGTERM")) {
      await handle.exited;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<"grace">((r) => (timer = setTimeout(() => r("grace"), graceMs)));
    const first = await Promise.race([handle.exited, graceOver]);
    clearTimeout(timer);
    if (first === "grace") signalGroup(pgid, "SIGKILL");
    await handle.exited;
  }

  async probe(handle: ProcessHandle, spec: ProbeSpec): Promise<ProbeResult> {
    if (spec.type === "process") {
      return readStat(handle.record.pid) ? { ok: true, message: "" } : { ok: false, message: "process is not running" };
    }
    return probeAddress("127.0.0.1", spec);
  }

  adopt(record: ProcessRecord, memoryMb: number): ProcessHandle {
    const st = readStat(record.pid);
    const dir = this.runDir(record.guid);
    if (!st || st.startTicks !== record.startTicks) {
      // Gone (or the pid now belongs to someone else): report how it ended if the launcher recorded it.
      return { record, exited: Promise.resolve({ code: readExitFile(dir), signal: null, outOfMemory: false }) };
    }
    let resolve!: (s: ExitStatus) => void;
    const run: Run = {
      record,
      memoryBytes: memoryMb * 1024 * 1024,
      tails: this.tails(record, true),
      outOfMemory: false,
      exited: new Promise<ExitStatus>((r) => (resolve = r)),
    };
    run.adopted = (s) => resolve(s);
    this.runs.set(record.guid, run);
    return { record, exited: run.exited };
  }

  async sweep(keep: ReadonlySet<number>): Promise<number> {
    const killed = new Set<number>();
    for (const pid of listPids()) {
      if (pid === process.pid) continue;
      if (readEnvVar(pid, "EIRINI_CELL_ROOT") !== this.opts.root) continue;
      const st = readStat(pid);
      if (!st || keep.has(st.pgrp) || killed.has(st.pgrp)) continue;
      if (signalGroup(st.pgrp, "SIGKILL")) killed.add(st.pgrp);
      else if (signalGroup(pid, "SIGKILL")) killed.add(pid);
    }
    if (killed.size) this.opts.logger.warn("killed orphaned processes", { groups: killed.size });
    return killed.size;
  }

  async cleanup(guid: string): Promise<void> {
    if (this.runs.has(guid)) return;
    await removeTree(this.runDir(guid));
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const run of this.runs.values()) for (const t of run.tails) t.close();
    this.runs.clear();
  }

  private pollRuns(): void {
    for (const run of [...this.runs.values()]) {
      for (const t of run.tails) t.poll();
      if (run.adopted) {
        const st = readStat(run.record.pid);
        if (!st || st.startTicks !== run.record.startTicks) {
          const code = readExitFile(this.runDir(run.record.guid));
          run.adopted(this.finish(run, { code, signal: null }));
        }
      }
    }
  }

  usage(handle: ProcessHandle): InstanceUsage | null {
    const u = this.runs.get(handle.record.guid)?.usage;
    return u ? { time: u.time, cpu: u.cpu, mem: u.mem, disk: u.disk } : null;
  }

  /** One /proc scan per period: kills groups over their memory limit and records every run's usage for stats. */
  private recordUsage(run: Run, rss: number, ticks: number, now: number): void {
    const prev = run.usage;
    const cpu = prev && now > prev.at ? Math.max(0, ticks - prev.ticks) / CLOCK_TICKS / ((now - prev.at) / 1000) : 0;
    const measureDisk = !prev || now - prev.diskAt >= DISK_EVERY_MS;
    const disk = measureDisk ? treeBytes(this.runDir(run.record.guid)) : prev.disk;
    run.usage = { time: new Date(now).toISOString(), cpu, mem: rss, disk, ticks, at: now, diskAt: measureDisk ? now : prev.diskAt };
  }

  private watchMemory(): void {
    const limited = [...this.runs.values()].filter((r) => !r.outOfMemory);
    if (limited.length === 0) return;
    const usage = groupUsage(new Set(limited.map((r) => r.record.pgid)));
    const now = Date.now();
    for (const run of limited) {
      const u = usage.get(run.record.pgid) ?? { rss: 0, cpuTicks: 0 };
      this.recordUsage(run, u.rss, u.cpuTicks, now);
      if (!Number.isFinite(run.memoryBytes)) continue;
      const used = u.rss;
      if (used > run.memoryBytes) {
        run.outOfMemory = true;
        this.opts.logger.info("instance over its memory limit: killing it", { guid: run.record.guid, rss_mb: Math.round(used / 1048576) });
        signalGroup(run.record.pgid, "SIGKILL");
      }
    }
  }
}

/** Disk use is a directory walk: measured at most this often per run. */
const DISK_EVERY_MS = 10_000;

function readExitFile(dir: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(join(dir, "exit_status"), "utf8"), 10);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
