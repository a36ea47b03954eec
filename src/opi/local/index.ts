/**
 * Local OPI backend contract: `createLocalBackend(opts)` returns an
 * `OpiBackend` that runs apps on this machine with no cluster: virtual cells
 * (config `cells`), Diego's placement (`place`, a pure function), one process
 * group per instance under `/bin/sh -c` in a `/home/vcap`-like directory,
 * port/http/process health checks, Diego's crash-restart policy, tasks, and
 * re-adoption of live processes after an appliance restart (state in SQLite,
 * migration 0004). The process executor is pluggable: `ProcessExecutor`
 * (real processes) or `FakeExecutor` (in-memory; instances run instantly).
 */
import { join } from "node:path";
import type { Config } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import type { LogSink } from "../../model/index.ts";
import type { Store } from "../../store/index.ts";
import type { Clock } from "./clock.ts";
import type { Executor } from "./executor.ts";
import { LocalBackend } from "./local-backend.ts";
import { ProcessExecutor } from "./process-executor.ts";
import type { RestartPolicy } from "./restart-policy.ts";
import type { LocalTiming } from "./runtime.ts";
import { LocalState } from "./state.ts";

export { LocalBackend } from "./local-backend.ts";
export { defaultTiming, type LocalTiming } from "./runtime.ts";
export { place, type CellState, type PlacementRequest, type PlacementResult } from "./placement.ts";
export { cellsFromConfig, type CellSpec } from "./cells.ts";
export { FakeExecutor, type FakeBehaviour } from "./fake-executor.ts";
export { ProcessExecutor, type ProcessExecutorOptions } from "./process-executor.ts";
export { StartError, type Executor, type RunSpec, type ProcessHandle, type ProcessRecord, type ExitStatus } from "./executor.ts";
export { ManualClock, systemClock, type Clock } from "./clock.ts";
export { diegoRestartPolicy, restartDelay, type RestartPolicy } from "./restart-policy.ts";

export interface LocalBackendOptions {
  store: Store;
  config: Config;
  logger: Logger;
  /** Where instance and task stdout/stderr lines go (the appliance's log store). */
  logs: LogSink;
  /** Root for unpacked droplets and run directories (default `<dataDir>/opi-local`). */
  dataDir?: string;
  clock?: Clock;
  /** Default: a ProcessExecutor over `dataDir` and the store's blobs. */
  executor?: Executor;
  timing?: Partial<LocalTiming>;
  restartPolicy?: Partial<RestartPolicy>;
  /** How often instance memory is checked and logs are read (real executor only). */
  memoryPollMs?: number;
  logPollMs?: number;
  /** Unread log bytes per stream beyond which output is dropped with a notice (default 8 MiB). */
  maxLogBacklogBytes?: number;
  /** The appliance's API URL, for VCAP_APPLICATION.cf_api. */
  cfApi?: () => string;
}

/** Builds the local backend; call `start()` to re-adopt and converge, `stop()` to stop every instance. */
export function createLocalBackend(opts: LocalBackendOptions): LocalBackend {
  const root = opts.dataDir ?? join(opts.store.dataDir, "opi-local");
  const logger = opts.logger.child({ part: "opi-local" });
  const executor =
    opts.executor ??
    new ProcessExecutor({
      root,
      dropletPath: (hash) => opts.store.blobs.path(`sha256:${hash}`),
      logs: opts.logs,
      logger,
      memoryPollMs: opts.memoryPollMs,
      logPollMs: opts.logPollMs,
      maxLogBacklogBytes: opts.maxLogBacklogBytes,
    });
  return new LocalBackend({
    config: opts.config,
    logger: opts.logger,
    state: new LocalState(opts.store.db),
    executor,
    clock: opts.clock,
    timing: opts.timing,
    restartPolicy: opts.restartPolicy,
    cfApi: opts.cfApi,
    logs: opts.logs,
  });
}

export { createLocalBackendPart, type LocalBackendPart } from "./part.ts";
