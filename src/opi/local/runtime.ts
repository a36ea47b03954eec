import type { Config } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import type { LogSink } from "../../model/index.ts";
import { cellsFromConfig, type CellSpec } from "./cells.ts";
import { systemClock, type Clock } from "./clock.ts";
import { EventHub } from "./event-hub.ts";
import type { Executor } from "./executor.ts";
import { diegoRestartPolicy, type RestartPolicy } from "./restart-policy.ts";
import { RouteTable } from "./route-table.ts";
import type { Desired } from "./slot.ts";
import type { LocalState } from "./state.ts";
import type { TaskRun } from "./task-run.ts";

/** Timeouts and intervals; all injectable so tests never wait for production values. */
export interface LocalTiming {
  /** SIGTERM -> SIGKILL grace when stopping (CF: 10 s). */
  stopGraceMs: number;
  /** Interval between health probes while an instance is starting. */
  startupProbeMs: number;
  /** Interval between liveness probes once RUNNING. */
  livenessProbeMs: number;
}

export const defaultTiming: LocalTiming = { stopGraceMs: 10_000, startupProbeMs: 20, livenessProbeMs: 5_000 };

/** What the backend is built from; everything optional has a production default. */
export interface LocalBackendCore {
  config: Config;
  logger: Logger;
  state: LocalState;
  executor: Executor;
  clock?: Clock;
  timing?: Partial<LocalTiming>;
  restartPolicy?: Partial<RestartPolicy>;
  /** The appliance's API URL for VCAP_APPLICATION.cf_api. */
  cfApi?: () => string;
  /** Where the cell's own `[CELL/n]` lines go (the appliance's log store); none when absent. */
  logs?: LogSink;
}

/**
 * The local backend's shared state, handed to each of its modules so they can
 * stay plain functions over one object instead of methods of one large class.
 * Everything runs on the event loop, so no locking is needed.
 */
export interface Runtime {
  readonly config: Config;
  readonly state: LocalState;
  readonly executor: Executor;
  readonly clock: Clock;
  readonly timing: LocalTiming;
  readonly policy: RestartPolicy;
  readonly log: Logger;
  readonly cells: CellSpec[];
  readonly desired: Map<string, Desired>;
  readonly tasks: Map<string, TaskRun>;
  readonly events: EventHub;
  readonly routes: RouteTable;
  /** The appliance's API URL for VCAP_APPLICATION.cf_api ("" when not known). */
  cfApi(): string;
  /** The cell's own log lines (cell-log.ts). */
  readonly logs?: LogSink;
  /** Set by stop() and abandon(): exits and probe results after that are not crashes. */
  stopped: boolean;
  /** Set by abandon(): the processes live on for the next backend, so their exits are not ours to report. */
  abandoned: boolean;
  /** Asks for a placement round. */
  converge(): void;
}

/** Fills in the defaults; `converge` is passed in because the scheduler is built over the runtime. */
export function createRuntime(core: LocalBackendCore, converge: () => void): Runtime {
  const cells = cellsFromConfig(core.config.cells);
  const log = core.logger.child({ part: "opi-local" });
  const desired = new Map<string, Desired>();
  return {
    config: core.config,
    state: core.state,
    executor: core.executor,
    clock: core.clock ?? systemClock,
    timing: { ...defaultTiming, ...core.timing },
    policy: { ...diegoRestartPolicy, ...core.restartPolicy },
    log,
    cells,
    desired,
    tasks: new Map(),
    events: new EventHub(log),
    routes: new RouteTable(desired),
    cfApi: () => core.cfApi?.() ?? "",
    logs: core.logs,
    stopped: false,
    abandoned: false,
    converge,
  };
}
