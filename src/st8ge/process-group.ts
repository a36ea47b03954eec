import { spawn } from "node:child_process";
import { lineSplitter } from "./line-splitter.ts";
import { canWatchMemory, diskUsageBytes, groupRssBytes } from "./resource-usage.ts";

export type KillReason = "timeout" | "memory" | "disk" | "cancelled";

export interface GroupLimits {
  timeoutMs: number;
  /** Resident memory of the whole group. */
  memoryBytes: number;
  /** Disk blocks used under `diskDir`. */
  diskBytes: number;
  diskDir: string;
}

export interface GroupOptions {
  argv: [string, ...string[]];
  cwd: string;
  env: Record<string, string>;
  limits: GroupLimits;
  onLine(stream: "OUT" | "ERR", line: string): void;
  signal?: AbortSignal;
  /** How often memory is sampled (disk every 4th sample). */
  pollMs?: number;
  /**
   * The sampler's timer (default `setInterval`): tests drive the samples
   * themselves, so a check "the limit was noticed" never waits for a period.
   */
  every?: (ms: number, fn: () => void) => () => void;
}

const intervalTimer = (ms: number, fn: () => void): (() => void) => {
  const t = setInterval(fn, ms);
  return () => clearInterval(t);
};

export interface GroupResult {
  exitCode: number | null;
  signal: string | null;
  /** Set when we killed the group, and why. */
  killedFor: KillReason | null;
  /** What was measured when a limit killed it. */
  measured?: number;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Runs `argv` as the leader of a new process group (setsid via `detached`),
 * streaming its stdout/stderr as lines. The whole group is SIGKILLed on
 * timeout, cancel, or when the group's RSS or the disk use of `diskDir`
 * passes its limit, and swept once the leader exits so no straggler it
 * started in the background outlives the staging.
 */
export function runProcessGroup(opts: GroupOptions): Promise<GroupResult> {
  const { limits } = opts;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return resolve({ exitCode: null, signal: null, killedFor: "cancelled" });
    const child = spawn(opts.argv[0], opts.argv.slice(1), { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let killedFor: KillReason | null = null;
    let measured: number | undefined;
    let exit: { code: number | null; signal: string | null } | undefined;
    const pgid = child.pid;
    const out = lineSplitter((l) => opts.onLine("OUT", l));
    const err = lineSplitter((l) => opts.onLine("ERR", l));
    child.stdout!.on("data", (c: Buffer) => out.push(c));
    child.stderr!.on("data", (c: Buffer) => err.push(c));

    const stop = (why: KillReason, value?: number) => {
      if (killedFor || exit || pgid === undefined) return;
      killedFor = why;
      measured = value;
      killGroup(pgid);
    };
    const timer = setTimeout(() => stop("timeout"), limits.timeoutMs);
    const onAbort = () => stop("cancelled");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const watchMemory = canWatchMemory();
    let tick = 0;
    const stopSampling = (opts.every ?? intervalTimer)(opts.pollMs ?? 250, () => {
      if (pgid === undefined) return;
      if (watchMemory) {
        const rss = groupRssBytes(pgid);
        if (rss > limits.memoryBytes) return stop("memory", rss);
      }
      if (tick++ % 4 === 0) {
        const used = diskUsageBytes(limits.diskDir);
        if (used > limits.diskBytes) stop("disk", used);
      }
    });
    let closeGuard: ReturnType<typeof setTimeout> | undefined;

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stopSampling();
      clearTimeout(closeGuard);
      opts.signal?.removeEventListener("abort", onAbort);
      out.end();
      err.end();
      resolve({ exitCode: exit?.code ?? null, signal: exit?.signal ?? null, killedFor, ...(measured !== undefined ? { measured } : {}) });
    };
    child.on("error", (e) => {
      clearTimeout(timer);
      stopSampling();
      opts.signal?.removeEventListener("abort", onAbort);
      reject(e);
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      if (pgid !== undefined) killGroup(pgid);
      // A process that left the group (its own setsid) may still hold our pipes; do not wait on it forever.
      closeGuard = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, 2000);
    });
    child.on("close", () => finish());
  });
}
