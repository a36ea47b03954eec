import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log/index.ts";
import { StagingRequest, type LogLine, type LogSink, type StagingRequestInput, type StagingResult } from "../model/index.ts";
import type { BlobStore } from "../store/index.ts";
import type { Buildpack, BuildpackStore } from "./buildpack-store.ts";
import { builtinAlias } from "./builtin-buildpacks.ts";
import { NO_BUILDPACK_DETECTED, StagingError } from "./errors.ts";
import type { JobBuildpack, StagingExecutor } from "./executor.ts";
import { stagingEnv } from "./staging-env.ts";
import { detectSource, type PackageSource } from "./unpack/package-source.ts";

export interface StagerOptions {
  executor: StagingExecutor;
  buildpacks: BuildpackStore;
  blobs: BlobStore;
  /** Where staging log lines are stored (the appliance's `store.logs`). */
  logSink: LogSink;
  /** Parent of the per-app buildpack caches (`<dataDir>/staging/cache`). */
  cacheRoot: string;
  logger?: Logger;
  /** Nanoseconds since the epoch, for log timestamps. */
  nowNs?: () => bigint;
  /** Milliseconds, for durations. */
  nowMs?: () => number;
  /**
   * Issues the token a staging fetches runtimes with (EIRINI_RUNTIMES_TOKEN;
   * the executor adds EIRINI_RUNTIMES_URL, the address it reaches the appliance at).
   */
  runtimeToken?: (stagingGuid: string, ttlSec: number) => string;
  /** More environment for every staging's runtime access (e.g. EIRINI_RUNTIMES_SOCKET). */
  runtimeEnv?: () => Record<string, string>;
}

export interface StageOptions {
  /** Live receivers of every staging log line (besides the log sink). */
  subscribers?: Array<(line: LogLine) => void>;
  signal?: AbortSignal;
  /** Guid to give the droplet; a random one by default. */
  dropletGuid?: string;
}

/** A running staging: its result (rejects with StagingError) and a way to stop it. */
export interface StagingHandle {
  readonly result: Promise<StagingResult>;
  cancel(): void;
}

export interface Stager {
  stage(request: StagingRequestInput, pkg: PackageSource | string, opts?: StageOptions): StagingHandle;
}

const SAFE_GUID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MB = 1024 * 1024;
const defaultNowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

function usable(bp: Buildpack | null, name: string, blobs: BlobStore): Buildpack {
  if (!bp) throw new StagingError("BuildpackNotFound", `buildpack ${JSON.stringify(name)} not found`);
  if (!bp.enabled) throw new StagingError("BuildpackNotFound", `buildpack ${JSON.stringify(name)} is disabled`);
  if (!bp.blob_digest || !blobs.has(bp.blob_digest)) throw new StagingError("BuildpackNotFound", `buildpack ${JSON.stringify(name)} has no bits uploaded`);
  return bp;
}

/**
 * Creates the Stager the Cloud Controller's builds (and `eirini stage`) call:
 * it resolves buildpacks from the store, runs the job on the executor, puts
 * the droplet into the blob store (`droplet_hash` = its digest's hex), keeps
 * the app's buildpack cache for the next staging, and sends every log line to
 * the log sink and to the live subscribers as an STG line.
 */
export function createStager(o: StagerOptions): Stager {
  const nowNs = o.nowNs ?? defaultNowNs;
  const nowMs = o.nowMs ?? (() => performance.now());
  mkdirSync(o.cacheRoot, { recursive: true });

  function resolve(req: StagingRequest): { list: JobBuildpack[]; detect: boolean } {
    // Old short names of the built-ins (`nodejs`, `procfile`) still name them.
    const byName = (name: string) => {
      const alias = builtinAlias(name);
      return o.buildpacks.get(name) ?? (alias ? o.buildpacks.get(alias) : null) ?? (name.endsWith("_buildpack") ? o.buildpacks.get(name.slice(0, -"_buildpack".length)) : null);
    };
    const job = (bp: Buildpack): JobBuildpack => ({ name: bp.name, source: { zip: o.buildpacks.zipPath(bp)! } });
    if (req.buildpacks.length > 0) {
      for (const ref of req.buildpacks) {
        if (!byName(ref.name) && ref.url) throw new StagingError("BuildpackNotFound", `buildpack ${JSON.stringify(ref.name)} is a URL (${ref.url}); add it to the store with \`eirini buildpacks add\` instead`);
      }
      const list = req.buildpacks.map((ref) => job(usable(byName(ref.name), ref.name, o.blobs)));
      return { list, detect: !req.buildpacks.some((r) => r.skip_detect) };
    }
    const list = o.buildpacks
      .list()
      .filter((bp) => bp.enabled && (bp.stack === null || bp.stack === req.stack) && bp.blob_digest && o.blobs.has(bp.blob_digest))
      .map(job);
    if (list.length === 0) throw new StagingError("NoAppDetectedError", `${NO_BUILDPACK_DETECTED} (no buildpacks are installed and enabled)`);
    return { list, detect: true };
  }

  function stage(input: StagingRequestInput, pkg: PackageSource | string, opts: StageOptions = {}): StagingHandle {
    const abort = new AbortController();
    if (opts.signal) {
      if (opts.signal.aborted) abort.abort();
      else opts.signal.addEventListener("abort", () => abort.abort(), { once: true });
    }
    let appGuid = typeof input?.app_guid === "string" && input.app_guid ? input.app_guid : "unknown";
    let lastTs = 0n;
    // A buildpack's own "**ERROR** <reason>" line (libbuildpack's and ours) says why it failed better than its exit status.
    let reason = "";
    const emit = (stream: "OUT" | "ERR", message: string) => {
      const m = /\*\*ERROR\*\*\s*(.+)$/.exec(message);
      if (m) reason = m[1]!.trim();
      let ts = nowNs();
      if (ts <= lastTs) ts = lastTs + 1n;
      lastTs = ts;
      const line: LogLine = { source_id: appGuid, timestamp: ts, source_type: "STG", instance_id: "0", stream, message };
      try {
        o.logSink.append(line);
      } catch (err) {
        o.logger?.warn("staging log line not stored", { error: err });
      }
      for (const sub of opts.subscribers ?? []) {
        try {
          sub(line);
        } catch {
          // A broken subscriber must not break the staging.
        }
      }
    };

    const run = async (): Promise<StagingResult> => {
      const started = nowMs();
      const parsed = StagingRequest.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new StagingError("StagerError", `invalid staging request: ${issue.path.join(".") || "body"}: ${issue.message}`);
      }
      const req = parsed.data;
      appGuid = req.app_guid;
      if (!SAFE_GUID.test(req.app_guid)) throw new StagingError("StagerError", `invalid staging request: app_guid ${JSON.stringify(req.app_guid)} is not a guid`);
      let env: Record<string, string>;
      try {
        env = stagingEnv(req);
      } catch (err) {
        throw new StagingError("StagerError", `invalid staging request: ${(err as Error).message}`);
      }
      let source: PackageSource;
      try {
        source = typeof pkg === "string" ? detectSource(pkg) : pkg;
      } catch (err) {
        throw new StagingError("InvalidPackage", `app package rejected: ${(err as Error).message}`);
      }
      const { list, detect } = resolve(req);
      emit("OUT", detect ? `-----> Detecting among buildpacks: ${list.map((b) => b.name).join(", ")}` : `-----> Staging with buildpack${list.length > 1 ? "s" : ""}: ${list.map((b) => b.name).join(", ")}`);
      const cacheDir = join(o.cacheRoot, req.app_guid);
      const dropletPath = o.blobs.tempPath("droplet");
      const outcome = await o.executor.run(
        {
          id: req.staging_guid,
          package: source,
          buildpacks: list,
          detect,
          env: o.runtimeToken ? { ...env, ...o.runtimeEnv?.(), EIRINI_RUNTIMES_TOKEN: o.runtimeToken(req.staging_guid, req.timeout_ms / 1000 + 60) } : env,
          startCommand: req.start_command,
          limits: { timeoutMs: req.timeout_ms, memoryBytes: req.memory_mb * MB, diskBytes: req.disk_mb * MB },
          ...(existsSync(cacheDir) ? { cacheDir } : {}),
          dropletPath,
        },
        { onLine: emit, signal: abort.signal },
      );
      try {
        if (abort.signal.aborted) throw new StagingError("StagingCancelled", "staging was cancelled");
        const { digest } = o.blobs.commitTemp(dropletPath, outcome.droplet.digest, outcome.droplet.size);
        if (outcome.cacheDir) {
          try {
            keepCache(outcome.cacheDir, cacheDir);
          } catch (err) {
            // A lost cache only makes the next staging slower (e.g. two stagings of one app raced).
            o.logger?.warn("buildpack cache not kept", { app_guid: req.app_guid, error: err });
          }
        }
        emit("OUT", "Staging complete");
        return {
          droplet_guid: opts.dropletGuid ?? crypto.randomUUID(),
          droplet_hash: digest.slice("sha256:".length),
          detected_buildpack: outcome.detectedBuildpack,
          buildpack_name: outcome.buildpackName,
          start_command: outcome.startCommand,
          process_types: outcome.processTypes,
          duration_ms: Math.max(0, Math.round(nowMs() - started)),
        };
      } finally {
        rmSync(dropletPath, { force: true });
        outcome.dispose();
      }
    };

    const result = run().catch((err: unknown) => {
      let e = err instanceof StagingError ? err : new StagingError("StagerError", `staging failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      if (reason && e.code === "BuildpackCompileFailed") e = new StagingError(e.code, `${e.message}: ${reason}`, { cause: e });
      emit("ERR", `Staging failed: ${e.message}`);
      o.logger?.info("staging failed", { app_guid: appGuid, code: e.code, reason: e.message });
      throw e;
    });
    return { result, cancel: () => abort.abort() };
  }

  return { stage };
}

/** Swaps in the new cache with renames, so a crash leaves either the old or the new one whole. */
function keepCache(fresh: string, dest: string): void {
  const suffix = crypto.randomUUID().slice(0, 8);
  const incoming = `${dest}.new-${suffix}`;
  const outgoing = `${dest}.old-${suffix}`;
  try {
    renameSync(fresh, incoming);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    cpSync(fresh, incoming, { recursive: true, verbatimSymlinks: true });
  }
  if (existsSync(dest)) renameSync(dest, outgoing);
  try {
    renameSync(incoming, dest);
  } finally {
    rmSync(incoming, { recursive: true, force: true });
    // The old cache (maybe 100s of MB of runtimes) goes in the background: the staging's result need not wait.
    void rm(outgoing, { recursive: true, force: true }).catch(() => {});
  }
}
