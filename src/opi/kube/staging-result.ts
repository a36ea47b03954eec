import { lifecycleError as sharedLifecycleError, readInsideTree, readLifecycleOutputs, StagingError, type StagingJob } from "../../st8ge/index.ts";

/** What the lifecycle decided, read from the result a staging pod uploaded. */
export interface LifecycleResult {
  detectedBuildpack: string;
  buildpackName: string;
  startCommand: string;
  processTypes: Record<string, string>;
  /** staging_info.yml for the droplet. */
  stagingInfo: string;
}

/** A file of the pod's unpacked result, never through a link (the pod chose every byte of that tree). */
function read(dir: string, rel: string): string | null {
  try {
    return readInsideTree(dir, rel);
  } catch {
    return null;
  }
}

/** builder.sh's `out/status` as the error CF users know, worded as st8ge's local executor words it. */
export function lifecycleError(status: string, job: Pick<StagingJob, "buildpacks">, exitCode: string): StagingError {
  return sharedLifecycleError(status, job.buildpacks, `staging lifecycle exited with status ${exitCode.trim() || "unknown"}`);
}

/**
 * Reads an unpacked result (`out/`, optionally `droplet/app/Procfile`):
 * the lifecycle's error, or what the droplet is (buildpack, start command,
 * process types: the release's, overridden by the Procfile).
 */
export function readLifecycleResult(dir: string, job: Pick<StagingJob, "buildpacks" | "detect" | "startCommand">): LifecycleResult | StagingError {
  const exit = read(dir, "out/exit")?.trim() ?? "";
  if (exit !== "0") return lifecycleError(read(dir, "out/status") ?? "", job, exit);
  // Diego's rules (launch.yml, release, Procfile as YAML, config.yml metadata) are st8ge's, shared with the local executor.
  try {
    const r = readLifecycleOutputs((rel) => read(dir, `out/${rel}`), read(dir, "droplet/app/Procfile"), job);
    return { detectedBuildpack: r.detectedBuildpack, buildpackName: r.buildpackName, startCommand: r.startCommand, processTypes: r.processTypes, stagingInfo: r.stagingInfo };
  } catch (err) {
    if (err instanceof StagingError) return err;
    throw err;
  }
}
