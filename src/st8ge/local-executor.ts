import { runCommand, VCAP_GID, VCAP_UID, type ContainerHost } from "../container/index.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { seedCache } from "./cache-seed.ts";
import { packTree } from "./droplet-pack.ts";
import { StagingError, UnsafeArchiveError } from "./errors.ts";
import type { ExecHooks, StagingExecutor, StagingJob, StagingOutcome } from "./executor.ts";
import { lifecycleError } from "./lifecycle-status.ts";
import builderScript from "./lifecycle/builder.sh" with { type: "text" };
import { readLifecycleOutputs } from "./lifecycle/result.ts";
import { runInContainer } from "./container-group.ts";
import { killMarkedGroups, runProcessGroup, type GroupResult } from "./process-group.ts";
import { diskUsageBytes } from "./resource-usage.ts";
import { unpackSource } from "./unpack/package-source.ts";
import { readInsideTree } from "./unpack/read-inside.ts";

export interface LocalExecutorOptions {
  /** Parent of every staging's working directory (e.g. `<dataDir>/staging/work`). */
  workRoot: string;
  /** PATH the buildpacks see: the "stack" is this machine. Default: this process's PATH. */
  path?: string;
  /** Memory/disk sampling interval. */
  pollMs?: number;
  /** gzip level of droplets (1 fastest .. 9 smallest). */
  gzipLevel?: number;
  /** Most entries an app package may unpack to. */
  maxEntries?: number;
  /** The appliance's runtime routes as this machine reaches them (EIRINI_RUNTIMES_URL). */
  runtimesUrl?: () => string;
  /** Run the lifecycle in a container on the stack as vcap (the default where containers work); absent: a plain process group. */
  container?: StagingContainers;
}

/** What staging in containers needs (the local OPI backend shares its container host, so one bridge serves both). */
export interface StagingContainers {
  host: ContainerHost;
  stackRootfs(): Promise<string>;
  pidsLimit?: number;
  /** More host directories visible inside at the same path, read-write (e.g. a shared cache). */
  binds?: string[];
}

const MB = 1024 * 1024;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes staging containers left by a process that died (id `stg-<pid>-...`). */
async function sweepStaleContainers(host: ContainerHost): Promise<void> {
  for (const id of host.list()) {
    const m = /^stg-(\d+)-/.exec(id);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) await host.destroy(id).catch(() => {});
  }
}

/** Diego's supply-buildpack cache dir name: xxhash64 of the buildpack key, 16 hex digits. */
export function buildpackCacheKey(name: string): string {
  return Bun.hash.xxHash64(name).toString(16).padStart(16, "0");
}

/**
 * Cleans up after stagings of an appliance that died (kill -9): their process
 * groups still run, unwatched, so they are found by the marker in their
 * environment (the work dir's name, which starts with the dead appliance's
 * pid) and killed; then their working dirs are removed.
 */
function sweepStale(workRoot: string): void {
  const stale = (name: string) => {
    const pid = Number(name.split("-")[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
  };
  killMarkedGroups((marker) => marker.startsWith(`${workRoot}/`) && stale(marker.slice(workRoot.length + 1)));
  for (const name of readdirSync(workRoot)) if (stale(name)) rmSync(join(workRoot, name), { recursive: true, force: true });
}

/**
 * Removes a finished staging's working dir off the critical path: renamed
 * aside at once (the name keeps the pid prefix, so a crash leaves it to
 * sweepStale), deleted in the background. Deleting thousands of files
 * synchronously held every staging's result (and the event loop) for as
 * long as the unpack itself took.
 */
function discard(dir: string): void {
  const aside = `${dir}-done`;
  try {
    renameSync(dir, aside);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  void rm(aside, { recursive: true, force: true }).catch(() => {});
}

function killedError(g: GroupResult, job: StagingJob): StagingError {
  switch (g.killedFor) {
    case "timeout":
      return new StagingError("StagingTimeExpired", `staging exceeded its time limit of ${Math.round(job.limits.timeoutMs / 1000)} s`);
    case "memory":
      return new StagingError("InsufficientResources", `staging exceeded its memory limit of ${Math.round(job.limits.memoryBytes / MB)} MB`);
    case "disk":
      return new StagingError("InsufficientResources", `staging exceeded its disk limit of ${Math.round(job.limits.diskBytes / MB)} MB`);
    default:
      return new StagingError("StagingCancelled", "staging was cancelled");
  }
}

function statusError(work: string, job: StagingJob, g: GroupResult): StagingError {
  let status = "";
  try {
    status = readFileSync(join(work, "out", "status"), "utf8").trim();
  } catch {
    // The lifecycle itself died before saying why.
  }
  return lifecycleError(status, job.buildpacks, `staging lifecycle exited with ${g.signal ? `signal ${g.signal}` : `status ${g.exitCode}`}`);
}

function sizeText(bytes: number): string {
  return bytes >= MB ? `${(bytes / MB).toFixed(1)}M` : `${Math.max(1, Math.round(bytes / 1024))}K`;
}

/**
 * The local executor: stages on this machine. Each staging gets a fresh
 * working directory under `workRoot` (named `<pid>-<id>-<random>` so a later
 * start can sweep what a crashed process left), the package and buildpacks
 * are unpacked there by the safe unpackers, and the lifecycle script runs as
 * its own process group with HOME and TMPDIR inside the working directory.
 */
export function createLocalExecutor(opts: LocalExecutorOptions): StagingExecutor {
  mkdirSync(opts.workRoot, { recursive: true });
  sweepStale(opts.workRoot);
  if (opts.container) void sweepStaleContainers(opts.container.host);
  const path = opts.path ?? process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin";

  async function run(job: StagingJob, hooks: ExecHooks): Promise<StagingOutcome> {
    const safeId = job.id.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64);
    const work = join(opts.workRoot, `${process.pid}-${safeId}-${crypto.randomUUID().slice(0, 8)}`);
    const deadline = Date.now() + job.limits.timeoutMs;
    let seeded: { restore(): void } | undefined;
    const checkpoint = () => {
      if (hooks.signal?.aborted) throw new StagingError("StagingCancelled", "staging was cancelled");
      if (Date.now() > deadline) throw new StagingError("StagingTimeExpired", `staging exceeded its time limit of ${Math.round(job.limits.timeoutMs / 1000)} s`);
    };
    try {
      const droplet = join(work, "droplet");
      for (const d of ["droplet/deps", "droplet/profile.d", "droplet/tmp", "droplet/logs", "buildpacks", "cache", "out", "home", "tmp"]) {
        mkdirSync(join(work, d), { recursive: true });
      }
      checkpoint();
      const limits = { maxBytes: job.limits.diskBytes, maxEntries: opts.maxEntries ?? 500_000 };
      try {
        const got = await unpackSource(job.package, join(droplet, "app"), limits);
        hooks.onLine("OUT", `Downloaded app package (${sizeText(got.bytes)})`);
      } catch (err) {
        if (err instanceof UnsafeArchiveError) throw new StagingError("InvalidPackage", `app package rejected: ${err.message}`, { cause: err });
        throw err;
      }
      for (const [i, bp] of job.buildpacks.entries()) {
        checkpoint();
        try {
          // Zips made without Unix modes (Windows) still need runnable bin/ scripts.
          await unpackSource(bp.source, join(work, "buildpacks", String(i)), limits, { defaultMode: (n) => (n.startsWith("bin/") ? 0o755 : 0o644) });
        } catch (err) {
          if (err instanceof UnsafeArchiveError) throw new StagingError("StagerError", `buildpack ${bp.name} rejected: ${err.message}`, { cause: err });
          throw err;
        }
      }
      if (job.cacheDir && existsSync(job.cacheDir)) {
        seeded = seedCache(job.cacheDir, join(work, "cache"));
      }
      writeFileSync(join(work, "plan"), job.buildpacks.map((b, i) => `${i} ${buildpackCacheKey(b.name)}\n`).join(""));
      writeFileSync(join(work, "lifecycle.sh"), builderScript, { mode: 0o755 });
      checkpoint();

      const env: Record<string, string> = {
        LANG: "en_US.UTF-8",
        PATH: opts.container ? "/usr/local/bin:/usr/bin:/bin" : path,
        ...(opts.runtimesUrl ? { EIRINI_RUNTIMES_URL: opts.runtimesUrl() } : {}),
        ...job.env,
        HOME: join(work, "home"),
        TMPDIR: join(work, "tmp"),
        ST8GE_WORK: work,
        ST8GE_MODE: job.detect ? "detect" : "named",
      };
      const groupLimits = { timeoutMs: Math.max(1, deadline - Date.now()), memoryBytes: job.limits.memoryBytes, diskBytes: job.limits.diskBytes, diskDir: work };
      const argv: [string, ...string[]] = ["/bin/sh", join(work, "lifecycle.sh")];
      const c = opts.container;
      let g: GroupResult;
      if (c) {
        const rootfs = await c.stackRootfs();
        // Buildpacks run as vcap: the work dir (package, buildpacks, cache, droplet) becomes theirs.
        await runCommand(["chown", "-R", "-h", `${VCAP_UID}:${VCAP_GID}`, work]);
        checkpoint();
        g = await runInContainer({
          host: c.host,
          id: `stg-${basename(work)}`.slice(0, 100),
          rootfs,
          argv,
          cwd: join(droplet, "app"),
          env,
          // The runtime routes' unix socket (its directory), when the stager offers one.
          binds: [work, ...(job.env.EIRINI_RUNTIMES_SOCKET ? [dirname(job.env.EIRINI_RUNTIMES_SOCKET)] : []), ...(c.binds ?? [])],
          limits: groupLimits,
          logBase: `${work}.log`,
          pidsLimit: c.pidsLimit,
          onLine: hooks.onLine,
          signal: hooks.signal,
          ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
        });
      } else {
        g = await runProcessGroup({ argv, cwd: join(droplet, "app"), env, limits: groupLimits, onLine: hooks.onLine, signal: hooks.signal, marker: work, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) });
      }
      if (g.killedFor) throw killedError(g, job);
      if (g.exitCode !== 0) throw statusError(work, job, g);
      if (diskUsageBytes(work) > job.limits.diskBytes) throw killedError({ ...g, killedFor: "disk" }, job);

      // What buildpacks and the app wrote is read without following links (readInsideTree): the tree is theirs.
      const result = readLifecycleOutputs((rel) => readInsideTree(work, `out/${rel}`), readInsideTree(work, "droplet/app/Procfile"), job);
      const { detectedBuildpack, buildpackName, startCommand, processTypes } = result;
      if (!processTypes.web) {
        hooks.onLine("ERR", "No start command specified by buildpack or via Procfile.");
        hooks.onLine("ERR", "App will not start unless a command is provided at runtime.");
      }
      writeFileSync(join(droplet, "staging_info.yml"), result.stagingInfo);
      checkpoint();
      hooks.onLine("OUT", "Uploading droplet...");
      // Unchanged deps subtrees (runtimes hard-linked from the cache) reuse their compressed bytes.
      const packed = await packTree(droplet, job.dropletPath, opts.gzipLevel, { memberCache: join(opts.workRoot, "..", "droplet-members") });
      hooks.onLine("OUT", `Uploaded droplet (${sizeText(packed.size)})`);
      return {
        droplet: packed,
        detectedBuildpack,
        buildpackName,
        startCommand,
        processTypes,
        cacheDir: join(work, "cache"),
        dispose: () => discard(work),
      };
    } catch (err) {
      seeded?.restore();
      discard(work);
      rmSync(job.dropletPath, { force: true });
      if (err instanceof StagingError) throw err;
      throw new StagingError("StagerError", `staging failed: ${(err as Error).message}`, { cause: err });
    }
  }

  return { name: "local", run };
}
