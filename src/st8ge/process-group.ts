import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
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
   * Set as GROUP_MARKER_ENV in the group's environment: how a later run of
   * the appliance finds the group again after a kill -9 (`killMarkedGroups`).
   */
  marker?: string;
}

/** The environment variable that marks every process of a staging group. */
export const GROUP_MARKER_ENV = "EIRINI_STAGING_GROUP";

/**
 * Kills what is left of earlier staging groups after the appliance died
 * (kill -9 leaves a process group running with no one watching its limits):
 * every process whose environment carries `GROUP_MARKER_ENV=<m>` with
 * `isStale(m)`, and the whole process group of each (members that cleared
 * their environment go too). Returns how many processes were found.
 */
export function killMarkedGroups(isStale: (marker: string) => boolean): number {
  const prefix = `${GROUP_MARKER_ENV}=`;
  const groups = new Set<number>();
  let found = 0;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return 0;
  }
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      continue; // gone, or not ours
    }
    const entry = environ.split("\0").find((e) => e.startsWith(prefix));
    if (!entry || !isStale(entry.slice(prefix.length))) continue;
    found++;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp > 1 && pgrp !== process.pid) groups.add(pgrp);
    } catch {
      /* gone */
    }
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const g of groups) killGroup(g);
  return found;
}

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
    const env = opts.marker ? { ...opts.env, [GROUP_MARKER_ENV]: opts.marker } : opts.env;
    const child = spawn(opts.argv[0], opts.argv.slice(1), { cwd: opts.cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
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
    const poll = setInterval(() => {
      if (pgid === undefined) return;
      if (watchMemory) {
        const rss = groupRssBytes(pgid);
        if (rss > limits.memoryBytes) return stop("memory", rss);
      }
      if (tick++ % 4 === 0) {
        const used = diskUsageBytes(limits.diskDir);
        if (used > limits.diskBytes) stop("disk", used);
      }
    }, opts.pollMs ?? 250);
    let closeGuard: ReturnType<typeof setTimeout> | undefined;

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      clearTimeout(closeGuard);
      opts.signal?.removeEventListener("abort", onAbort);
      out.end();
      err.end();
      resolve({ exitCode: exit?.code ?? null, signal: exit?.signal ?? null, killedFor, ...(measured !== undefined ? { measured } : {}) });
    };
    child.on("error", (e) => {
      clearTimeout(timer);
      clearInterval(poll);
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
