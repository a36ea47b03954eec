import type { PackResult } from "./droplet-pack.ts";
import type { PackageSource } from "./unpack/package-source.ts";

/** One buildpack as an executor receives it: its name and its bits. */
export interface JobBuildpack {
  name: string;
  source: PackageSource;
}

/** Everything an executor needs to run one staging; built by the Stager. */
export interface StagingJob {
  /** The staging guid; also names the working directory. */
  id: string;
  package: PackageSource;
  /** In order. With `detect`, the first whose bin/detect succeeds is used alone. */
  buildpacks: JobBuildpack[];
  /** true: autodetect; false: every buildpack runs, all but the last supply, the last finalizes. */
  detect: boolean;
  /** The staging environment (CF_STACK, VCAP_APPLICATION, VCAP_SERVICES, MEMORY_LIMIT, app env). */
  env: Record<string, string>;
  /** The user's explicit start command, or "". */
  startCommand: string;
  limits: { timeoutMs: number; memoryBytes: number; diskBytes: number };
  /**
   * The app's buildpack cache from its previous staging, to seed from. Never
   * modified, except that an executor may move `<key>/runtimes/` out for the
   * staging's length (put back when the staging fails; see cache-seed.ts).
   */
  cacheDir?: string;
  /** Where to write the droplet .tgz (a temp path the caller adopts or removes). */
  dropletPath: string;
}

export interface StagingOutcome {
  droplet: PackResult;
  /** Output of the winning bin/detect, or the buildpack's name when detection was skipped. */
  detectedBuildpack: string;
  /** Name of the final buildpack. */
  buildpackName: string;
  startCommand: string;
  processTypes: Record<string, string>;
  /** The new buildpack cache: a directory the caller may rename away before `dispose()`. */
  cacheDir: string | null;
  /** Removes the executor's working files. */
  dispose(): void;
}

export interface ExecHooks {
  /** Every line the lifecycle or a buildpack prints, streams kept apart. */
  onLine(stream: "OUT" | "ERR", message: string): void;
  signal?: AbortSignal;
}

/**
 * Runs the classic buildpack lifecycle for one job somewhere: `local` on this
 * machine, a Kubernetes Job later. Every implementation passes the contract
 * suite in test/st8ge/executor-contract.ts: same outcome fields, failures as
 * StagingError with the same codes, nothing left behind on failure, limits and
 * cancel honoured.
 */
export interface StagingExecutor {
  readonly name: string;
  run(job: StagingJob, hooks: ExecHooks): Promise<StagingOutcome>;
}
