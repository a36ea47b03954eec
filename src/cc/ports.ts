import type { Instance, LogLineInput, LRP, StagingRequestInput, StagingResult, Task } from "../model/index.ts";

/**
 * What the Cloud Controller needs from other parts, as narrow interfaces the
 * composition root (src/cli/parts.ts) wires. CC never imports a backend.
 */

/** One running staging: its outcome and a way to stop it (app deleted, restaged). */
export interface StagingHandle {
  result: Promise<StagingResult>;
  cancel(): void;
}

/**
 * Staging (st8ge's `Stager`, structurally). `packagePath` is the package zip
 * on disk. The droplet it produces must be in the BlobStore at
 * `sha256:<result.droplet_hash>`. The stager writes its output to the log
 * store itself as `STG` lines with `source_id = request.app_guid` (st8ge is
 * built with the appliance's LogSink), so CC does not forward lines.
 */
export interface Stager {
  stage(request: StagingRequestInput, packagePath: string): StagingHandle;
}

/** Actual instances of a desired process by its LRP `process_guid` (`<guid>-<version>`), as OPI reports them. */
export interface InstancesReader {
  getInstances(processGuid: string): Promise<Instance[]>;
  /** The backend's capability (OpiBackend.supportsDockerImages): absent or false refuses docker pushes. */
  readonly supportsDockerImages?: boolean;
  /** Stop one instance (`cf restart-app-instance`); the backend brings it back while the LRP is desired. */
  stopInstance(processGuid: string, index: number): Promise<void>;
}

/** One-off tasks go straight to the orchestrator (OPI's task half). */
export interface TaskRunner {
  desireTask(task: Task): Promise<void>;
  cancelTask(taskGuid: string): Promise<void>;
}

/** Stored log lines as the log store returns them (timestamp in ns). */
export interface StoredLog {
  source_id: string;
  timestamp: bigint;
  source_type: string;
  instance_id: string;
  stream: "OUT" | "ERR";
  message: string;
}

/** The bounded per-app log store (src/store/app-logs.ts) as log-cache reads it. */
export interface CcLogStore {
  append(line: LogLineInput): void;
  read(sourceId: string, q: { startTime?: bigint; endTime?: bigint; limit?: number; descending?: boolean }): StoredLog[];
  deleteSource?(sourceId: string): void;
}

/** A desired-state change: the Sink re-converges this process (or the whole app when process_guid is absent). */
export interface DesiredChange {
  app_guid: string;
  /** The CC process guid (the LRP `guid`), when one process changed. */
  process_guid?: string;
}

export interface CcPorts {
  stager: Stager;
  instances: InstancesReader;
  tasks: TaskRunner;
  logs: CcLogStore;
}

/** The desired-state source the Sink consumes. */
export interface DesiredStateSource {
  /** Every LRP that should run now: started apps with a current droplet, one per process. */
  desiredProcesses(): LRP[];
  /** Called after every committed change to desired state. Returns unsubscribe. */
  onDesiredChange(listener: (change: DesiredChange) => void): () => void;
}
