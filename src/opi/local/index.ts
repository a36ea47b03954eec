/**
 * Local OPI backend contract: `createLocalBackend(opts)` returns an
 * `OpiBackend` that runs apps on this machine with no cluster: virtual cells
 * (config `cells`), Diego's placement (`place`, a pure function), one process
 * container per instance and task (runc: stack + droplet overlay, vcap,
 * namespaces, cgroup limits, a bridge IP), port/http/process health checks,
 * Diego's crash-restart policy, tasks, and re-adoption of live containers or
 * processes after an appliance restart (state in SQLite, migration 0004, and
 * under `<dataDir>/opi-local`). The executor is pluggable: `ContainerExecutor`
 * (config `local.isolation: container`, the default where possible),
 * `ProcessExecutor` (plain process groups: `local.isolation: process`, or the
 * fallback when runc, root or a stack is missing) or `FakeExecutor`
 * (in-memory; instances run instantly).
 */
import { join } from "node:path";
import type { Config } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import type { LogSink } from "../../model/index.ts";
import type { Store } from "../../store/index.ts";
import type { Clock } from "./clock.ts";
import type { Executor } from "./executor.ts";
import { LocalBackend } from "./local-backend.ts";
import { ContainerExecutor } from "./container-executor.ts";
import { isolationMode } from "./isolation.ts";
import { ProcessExecutor } from "./process-executor.ts";
import { stackRootfs } from "./stack.ts";
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

export { ContainerExecutor, type ContainerExecutorOptions } from "./container-executor.ts";
export { findStack, stackRootfs, stackHint, type StackSource } from "./stack.ts";
export { isolationMode, type IsolationMode } from "./isolation.ts";

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
  /** Host TCP ports containers may reach (the appliance's port when it listens beyond loopback). */
  openPorts?: () => number[];
  /** Credentials for docker images on a registry the appliance knows (its own), by registry host. */
  registryAuth?: (host: string) => { username: string; password: string } | undefined;
}

/**
 * The executor the config and this machine allow: containers (runc) by
 * default, plain processes when asked for or, with one loud warning, when
 * containers cannot run here.
 */
export function createExecutor(opts: LocalBackendOptions, root = opts.dataDir ?? join(opts.store.dataDir, "opi-local"), logger = opts.logger.child({ part: "opi-local" })): Executor {
  const dropletPath = (hash: string) => opts.store.blobs.path(`sha256:${hash}`);
  const mode = isolationMode(opts.store, opts.config);
  if (mode.mode === "container") {
    const executor = new ContainerExecutor({
      root,
      dropletPath,
      stackRootfs: () => stackRootfs(mode.stack, root),
      logs: opts.logs,
      logger,
      pidsLimit: opts.config.local.pidsLimit,
      diskPollMs: opts.config.local.diskPollMs,
      logPollMs: opts.logPollMs,
      maxLogBacklogBytes: opts.maxLogBacklogBytes,
      registryAuth: opts.registryAuth,
      ...(opts.openPorts ? { openPorts: opts.openPorts } : {}),
    });
    const stack = mode.stack.kind === "dir" ? mode.stack.path : mode.stack.name;
    return Object.assign(executor, { startupNotice: { level: "info" as const, message: "apps, tasks and staging run in containers (runc)", fields: { stack, bridge: executor.host.network.bridge } } });
  }
  const executor = new ProcessExecutor({
    root,
    dropletPath,
    logs: opts.logs,
    logger,
    memoryPollMs: opts.memoryPollMs,
    logPollMs: opts.logPollMs,
    maxLogBacklogBytes: opts.maxLogBacklogBytes,
  });
  // One loud line when the backend starts: apps then share this machine's user, files and network with the appliance.
  if (!mode.warning) return executor;
  return Object.assign(executor, { startupNotice: { level: "warn" as const, message: `CONTAINER ISOLATION IS OFF: apps and staging run as plain processes with the appliance's own privileges. ${mode.warning}` } });
}

/** Builds the local backend; call `start()` to re-adopt and converge, `stop()` to stop every instance. */
export function createLocalBackend(opts: LocalBackendOptions): LocalBackend {
  const root = opts.dataDir ?? join(opts.store.dataDir, "opi-local");
  const logger = opts.logger.child({ part: "opi-local" });
  const executor = opts.executor ?? createExecutor(opts, root, logger);
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
