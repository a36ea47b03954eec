/**
 * St8ge: classic Cloud Foundry buildpack staging, turning an app package into
 * a droplet (DESIGN.md 4).
 *
 * Contract:
 * - `Stager.stage(request, pkg, opts)` takes a `StagingRequest` and a package
 *   (`{zip}`, `{tar}`, `{dir}` or a path) and returns `{ result, cancel() }`.
 *   `result` resolves to a `StagingResult` whose `droplet_hash` is the sha256
 *   hex of the droplet .tgz, stored in the BlobStore as `sha256:<hash>`; it
 *   rejects with a `StagingError` (`code` named like CF's staging errors, one
 *   line `message`). Failures leave no files behind.
 * - Buildpacks: `request.buildpacks` empty -> every enabled store buildpack of
 *   the stack, in position order, first `bin/detect` wins; refs with
 *   `skip_detect` (what CC sends for user-named buildpacks) -> all run, each
 *   but the last `bin/supply`, the last `bin/supply`+`bin/finalize` (or
 *   `bin/compile`); refs without it -> detect among those refs.
 * - Every line printed during staging becomes an STG `LogLine` (source_id =
 *   app guid, ns timestamp, OUT/ERR kept apart) sent to the injected LogSink
 *   and to `opts.subscribers` as it happens.
 * - The app's buildpack cache is kept under `<dataDir>/staging/cache/<app>`
 *   and seeds its next staging.
 * - `StagingExecutor` runs one job; `createLocalExecutor` runs it on this
 *   machine as one process group with time, memory and disk limits. Every
 *   executor must pass test/st8ge/executor-contract.ts.
 * - `BuildpackStore` is the admin buildpack store (SQLite + blob store);
 *   `installBuiltinBuildpacks` adds the embedded `staticfile`, `nodejs`,
 *   `procfile` and `binary` buildpacks (the appliance part does it at start).
 * - `dropletLaunch` says how a droplet is started (profile.d, then the command).
 */
export { createStager, type Stager, type StagerOptions, type StageOptions, type StagingHandle } from "./stager.ts";
export type { StagingExecutor, StagingJob, StagingOutcome, ExecHooks, JobBuildpack } from "./executor.ts";
export { createLocalExecutor, type LocalExecutorOptions, type StagingContainers } from "./local-executor.ts";
export { BuildpackStore, BuildpackError, type Buildpack, type BuildpackCreate, type BuildpackUpdate, type BuildpackErrorCode } from "./buildpack-store.ts";
export { RuntimeStore, RuntimeProvider, RuntimeError, RuntimeTokens, addRuntimeArchive, runtimeRoutes, pickVersion, RUNTIMES_PREFIX, type RuntimeDependency } from "./runtimes/index.ts";
export { installBuiltinBuildpacks, BUILTIN_BUILDPACKS } from "./builtin-buildpacks.ts";
export { StagingError, UnsafeArchiveError, NO_BUILDPACK_DETECTED, type StagingErrorCode } from "./errors.ts";
export { detectSource, type PackageSource } from "./unpack/package-source.ts";
export { dropletLaunch, type Launch } from "./launcher.ts";
export { createStaging, createStagingPart, type Staging, type StagingDeps } from "./staging-part.ts";
// For executors elsewhere (the Kubernetes Job executor): the lifecycle script, safe unpacking, droplet packing and release parsing.
import builderScript from "./lifecycle/builder.sh" with { type: "text" };
export { builderScript };
export { unpackSource } from "./unpack/package-source.ts";
export { readInsideTree } from "./unpack/read-inside.ts";
export { resolveLink } from "./unpack/link-resolve.ts";
export { readZipDirectory, dataOffsets, type ZipEntry as ZipDirectoryEntry } from "./unpack/unzip.ts";
export { packTree, type PackResult } from "./droplet-pack.ts";
export { parseRelease, parseProcfile, stagingInfo } from "./lifecycle/release.ts";
export { readLifecycleOutputs, readProcfileYaml, type LifecycleOutputs, type BuildpackMetadata } from "./lifecycle/result.ts";
export { buildpackCacheKey } from "./local-executor.ts";
export { lifecycleError } from "./lifecycle-status.ts";
