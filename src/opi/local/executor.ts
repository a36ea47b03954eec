import type { HealthCheckType, InstanceUsage } from "../../model/index.ts";

/**
 * The executor is the local backend's container runtime: it lays out an
 * instance's files, starts it, enforces its limits, captures logs, probes
 * health and stops it. Three implementations: `container-executor.ts`
 * (runc containers, the default where possible), `process-executor.ts`
 * (plain `/bin/sh -c` process groups, for tests or when containers are
 * impossible) and an in-memory fake (`fake-executor.ts`) where instances
 * "run" instantly, for tests and for benchmarks with thousands of processes.
 */
export interface RunSpec {
  kind: "instance" | "task";
  /** Instance guid or task guid; names the run's directory. */
  guid: string;
  /** Buildpack droplet to lay out under the run's home, if any. */
  dropletHash?: string;
  /** Command to run; empty means the droplet's staging_info.yml start_command. */
  command: string;
  /**
   * A docker-lifecycle run: the OCI image to run instead of stack + droplet,
   * with its ENTRYPOINT/CMD unless `command` (argv) is given, as its own
   * user, `PORT` = its first EXPOSEd port. Only executors with
   * `runsImages` accept it.
   */
  image?: { ref: string; command: string[]; username?: string; password?: string };
  /** CF environment (without the paths the executor owns: HOME, TMPDIR, DEPS_DIR). */
  env: Record<string, string>;
  memoryMb: number;
  /** Disk limit of the run's writable files (enforced by the container executor; placement-only otherwise). */
  diskMb?: number;
  /** Log tags: source_id (app guid), source_type (APP/PROC/WEB, APP/TASK/<name>), instance_id. */
  log: { sourceId: string; sourceType: string; instanceId: string };
}

/** What identifies a running process group across appliance restarts. */
export interface ProcessRecord {
  guid: string;
  kind: "instance" | "task";
  pid: number;
  pgid: number;
  /** Kernel start time of the leader (/proc/<pid>/stat field 22): guards against pid reuse. */
  startTicks: string;
  log: RunSpec["log"];
  /**
   * Where the run's ports are reachable from the appliance: 127.0.0.1 for
   * plain processes, the container's IP on the bridge for containers. Not
   * persisted in SQLite: an executor that needs it fills it in on `adopt`.
   */
  host?: string;
  /** The port the app really listens on when it is not the one asked for (a docker image's EXPOSE). */
  appPort?: number;
}

export interface ExitStatus {
  /** Exit code, or null when unknown (killed by a signal, or an adopted process). */
  code: number | null;
  signal: string | null;
  /** Set when it was killed for using more memory than allowed (the kernel's OOM killer or the executor). */
  outOfMemory: boolean;
  /** Set when the executor killed it for writing more than its disk limit. */
  outOfDisk?: boolean;
}

/** What a run uses, as CF's process stats report it: the model's InstanceUsage. */
export type RunUsage = InstanceUsage;

export interface ProcessHandle {
  readonly record: ProcessRecord;
  readonly exited: Promise<ExitStatus>;
}

export interface ProbeSpec {
  type: HealthCheckType;
  port: number;
  path: string;
  timeoutMs: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, e.g. "Failed to make TCP connection to port 8080: connection refused". */
  message: string;
}

/** A start that can never succeed as asked (missing droplet, no start command). */
export class StartError extends Error {
  override name = "StartError";
}

export interface Executor {
  /** How runs are isolated: "container" (runc), "process" (process groups) or "fake" (in memory). */
  readonly isolation?: "container" | "process" | "fake";
  /** True when it can run docker images (RunSpec.image). */
  readonly runsImages?: boolean;
  /** How it was chosen, logged once when the backend starts (the loud "isolation is off" warning lives here). */
  readonly startupNotice?: { level: "info" | "warn"; message: string; fields?: Record<string, unknown> };
  /**
   * The port an instance's `containerPort` is reached at: a free TCP port on
   * 127.0.0.1 for plain processes, the container port itself for containers
   * (each has its own network namespace and IP).
   */
  freePort(containerPort?: number): Promise<number>;
  /** Lays out the run and starts its process group; throws StartError when it cannot. */
  start(spec: RunSpec): Promise<ProcessHandle>;
  /** SIGTERM to the group, `graceMs`, then SIGKILL; resolves when the group is gone. */
  stop(handle: ProcessHandle, graceMs: number): Promise<void>;
  probe(handle: ProcessHandle, spec: ProbeSpec): Promise<ProbeResult>;
  /**
   * Re-attaches to a process recorded before an appliance restart. The handle's
   * `exited` resolves at once when the process is gone (or its pid now belongs
   * to another process, which is then left alone).
   */
  adopt(record: ProcessRecord, memoryMb: number, diskMb?: number): ProcessHandle;
  /** Kills every process group this executor started that is not in `keep` (orphans). */
  sweep(keep: ReadonlySet<number>): Promise<number>;
  /** Removes the run's directory once it is over. */
  cleanup(guid: string): Promise<void>;
  /** The run's latest measured resource usage; null before the first measurement or when it cannot measure. */
  usage?(handle: ProcessHandle): InstanceUsage | null;
  /** Stops background work (memory watch, log tailing) without touching processes. */
  close(): void;
  /** After a clean stop of every run: releases shared resources (the container bridge). */
  shutdown?(): Promise<void>;
}
