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

interface FakeRun {
  spec: RunSpec;
  record: ProcessRecord;
  exit: (s: ExitStatus) => void;
  exited: Promise<ExitStatus>;
}

/** How a fake run behaves; tests pick it per command. */
export interface FakeBehaviour {
  /** Exit at once with this code (a task's result, or a crashing instance). */
  exitCode?: number;
  /** Health probes fail (never opens its port). */
  unhealthy?: boolean;
  /** SIGTERM is ignored; only the grace-period SIGKILL ends it. */
  ignoresSigterm?: boolean;
  /** Refuse to start with this reason (like a missing start command). */
  startError?: string;
}

/**
 * An in-memory executor: no processes, no files. Instances "run" as soon as
 * they are started and pass every probe, so the backend's scheduling,
 * restarts and bookkeeping can be exercised with thousands of processes (the
 * Cloud Controller's memory benchmark) or with an injected clock. Tests steer
 * it with `behaviour(command)`, `crash`, `exitTask` and `oom`.
 */
export class FakeExecutor implements Executor {
  readonly isolation = "fake" as const;
  private nextPid = 100_000;
  private nextPort = 20_000;
  private readonly runs = new Map<string, FakeRun>();
  /** Pids still "alive" across backend instances sharing this fake (for re-adoption tests). */
  readonly alive = new Map<number, FakeRun>();
  behaviour: (command: string, spec: RunSpec) => FakeBehaviour = () => ({});

  async freePort(): Promise<number> {
    return this.nextPort++;
  }

  async start(spec: RunSpec): Promise<ProcessHandle> {
    const b = this.behaviour(spec.command, spec);
    if (b.startError) throw new StartError(b.startError);
    const pid = this.nextPid++;
    const record: ProcessRecord = { guid: spec.guid, kind: spec.kind, pid, pgid: pid, startTicks: "fake", log: spec.log };
    let exit!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (exit = r));
    const run: FakeRun = { spec, record, exit, exited };
    this.runs.set(spec.guid, run);
    this.alive.set(pid, run);
    exited.then(() => {
      this.runs.delete(spec.guid);
      this.alive.delete(pid);
    });
    if (b.exitCode !== undefined) queueMicrotask(() => exit({ code: b.exitCode!, signal: null, outOfMemory: false }));
    return { record, exited };
  }

  async stop(handle: ProcessHandle, graceMs: number): Promise<void> {
    const run = this.alive.get(handle.record.pid);
    if (!run) return void (await handle.exited);
    if (this.behaviour(run.spec.command, run.spec).ignoresSigterm) {
      await new Promise((r) => setTimeout(r, graceMs));
      run.exit({ code: null, signal: "SIGKILL", outOfMemory: false });
    } else {
      run.exit({ code: 143, signal: null, outOfMemory: false });
    }
    await handle.exited;
  }

  async probe(handle: ProcessHandle, _spec: ProbeSpec): Promise<ProbeResult> {
    const run = this.alive.get(handle.record.pid);
    if (!run) return { ok: false, message: "process is not running" };
    return this.behaviour(run.spec.command, run.spec).unhealthy ? { ok: false, message: "Failed to make TCP connection to port 8080: connection refused" } : { ok: true, message: "" };
  }

  adopt(record: ProcessRecord, _memoryMb: number): ProcessHandle {
    const run = this.alive.get(record.pid);
    if (!run) return { record, exited: Promise.resolve({ code: null, signal: null, outOfMemory: false }) };
    this.runs.set(record.guid, run);
    return { record, exited: run.exited };
  }

  async sweep(keep: ReadonlySet<number>): Promise<number> {
    let n = 0;
    for (const [pid, run] of [...this.alive]) {
      if (keep.has(run.record.pgid)) continue;
      run.exit({ code: null, signal: "SIGKILL", outOfMemory: false });
      this.alive.delete(pid);
      n++;
    }
    return n;
  }

  async cleanup(_guid: string): Promise<void> {}

  close(): void {}

  /** Running fake runs (instances and tasks). */
  running(): ProcessRecord[] {
    return [...this.alive.values()].map((r) => r.record);
  }

  /** Makes a run exit with `code` (a crash for an instance, the result for a task). */
  crash(guid: string, code = 1): void {
    this.runs.get(guid)?.exit({ code, signal: null, outOfMemory: false });
  }

  /** Kills a run as the memory watch would. */
  oom(guid: string): void {
    this.runs.get(guid)?.exit({ code: null, signal: "SIGKILL", outOfMemory: true });
  }
}
