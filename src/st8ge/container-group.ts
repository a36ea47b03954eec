import { closeSync, existsSync, openSync, readSync, rmSync } from "node:fs";
import { ContainerHost, diskUsageBytes } from "../container/index.ts";
import { lineSplitter } from "./line-splitter.ts";
import type { GroupLimits, GroupResult, KillReason } from "./process-group.ts";

/** Staging in a container: the same inputs and result as `runProcessGroup`, with runc isolation. */
export interface ContainerGroupOptions {
  host: ContainerHost;
  /** Container id (unique among running stagings). */
  id: string;
  /** The stack root filesystem (read-only lower layer). */
  rootfs: string;
  argv: [string, ...string[]];
  cwd: string;
  env: Record<string, string>;
  /** Host directories visible inside at the same path, read-write (the staging's work dir). */
  binds: string[];
  limits: GroupLimits;
  /** Where the container's stdout/stderr files go (outside the bind-mounted dirs). */
  logBase: string;
  pidsLimit?: number;
  onLine(stream: "OUT" | "ERR", line: string): void;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Reads what was appended to a file since the last call. */
function follower(path: string, push: (b: Uint8Array) => void): () => void {
  let offset = 0;
  const buf = Buffer.allocUnsafe(64 * 1024);
  return () => {
    if (!existsSync(path)) return;
    const fd = openSync(path, "r");
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        push(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  };
}

/**
 * Runs the lifecycle as vcap (uid 2000) in a runc container on the stack:
 * own PID, mount, IPC, UTS and network namespaces (egress through the
 * appliance's bridge, nothing of the host reachable), memory limit from its
 * cgroup (an OOM kill is "memory"), pids limit, the work dir bind-mounted at
 * its own path. Timeout, cancel and the disk limit (work dir + writable
 * layer, measured) kill the whole container. Output is streamed as lines.
 */
export async function runInContainer(opts: ContainerGroupOptions): Promise<GroupResult> {
  if (opts.signal?.aborted) return { exitCode: null, signal: null, killedFor: "cancelled" };
  const outFile = `${opts.logBase}.stdout`;
  const errFile = `${opts.logBase}.stderr`;
  const out = lineSplitter((l) => opts.onLine("OUT", l));
  const err = lineSplitter((l) => opts.onLine("ERR", l));
  const readOut = follower(outFile, (b) => out.push(b));
  const readErr = follower(errFile, (b) => err.push(b));
  let killedFor: KillReason | null = null;
  let measured: number | undefined;
  const binds: Record<string, string> = {};
  for (const b of opts.binds) binds[b] = b;
  try {
    const info = await opts.host.create({
      id: opts.id,
      lowers: [opts.rootfs],
      args: opts.argv,
      env: opts.env,
      cwd: opts.cwd,
      memoryBytes: opts.limits.memoryBytes,
      pidsLimit: opts.pidsLimit ?? 1024,
      // Staging tasks get Diego's CPU weight 50.
      cpuShares: 512,
      binds,
      stdout: outFile,
      stderr: errFile,
    });
    const stop = (why: KillReason, value?: number) => {
      if (killedFor) return;
      killedFor = why;
      measured = value;
      opts.host.signal(info, "SIGKILL");
    };
    const onAbort = () => stop("cancelled");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    // Cancelled while the container was being made (its processes may already run): stop it now.
    if (opts.signal?.aborted) stop("cancelled");
    const timer = setTimeout(() => stop("timeout"), opts.limits.timeoutMs);
    let tick = 0;
    let measuring = false;
    try {
      while (opts.host.alive(info)) {
        readOut();
        readErr();
        if (tick++ % 8 === 0 && !measuring && !killedFor) {
          measuring = true;
          void Promise.all([diskUsageBytes(opts.limits.diskDir), diskUsageBytes(opts.host.upper(opts.id))])
            .then(([a, b]) => {
              if (a + b > opts.limits.diskBytes) stop("disk", a + b);
            })
            .finally(() => (measuring = false));
        }
        await Bun.sleep(Math.min(opts.pollMs ?? 25, 25));
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    }
    readOut();
    readErr();
    const ended = opts.host.exitInfo(opts.id);
    if (ended.oomKilled && !killedFor) {
      killedFor = "memory";
      measured = opts.limits.memoryBytes;
    }
    return { exitCode: ended.code, signal: ended.code === null ? "SIGKILL" : null, killedFor, ...(measured !== undefined ? { measured } : {}) };
  } finally {
    out.end();
    err.end();
    rmSync(outFile, { force: true });
    rmSync(errFile, { force: true });
    // Every process of it is gone already (PID 1 ended the namespace); removing the cgroup, mount and
    // network is cleanup the droplet upload need not wait for (a crash meanwhile: the next start sweeps it).
    opts.host.destroyLater(opts.id);
  }
}
