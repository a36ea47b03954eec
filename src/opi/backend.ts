import type { Instance, LRP, LRPSchedulingInfo, LRPUpdate, OpiEvent, Task, TaskStatus } from "../model/index.ts";

/** An LRP as a backend reports it back: the desired record plus its actual instances. */
export interface ActualLRP {
  lrp: LRP;
  instances: Instance[];
}

/** A route's live targets: where the router may send traffic for one host. */
export interface RouteTarget {
  process_guid: string;
  index: number;
  /** host:port the router connects to (local: 127.0.0.1:<PORT>; kube: pod IP or service proxy). */
  address: string;
}

/**
 * The orchestrator provider interface (OPI): the seam between "what is
 * wanted" (Sink, Cloud Controller) and "how a scheduler does it" (a backend).
 * Declarative and idempotent: desiring what exists with the same version is a
 * no-op; stopping what is gone succeeds. Processes are keyed by
 * `process_guid` (`<guid>-<version>`).
 */
export interface OpiBackend {
  readonly name: string;
  /**
   * Whether this backend can run docker images (LRPs and tasks with a
   * `docker_lifecycle`). Absent or false: the Cloud Controller refuses
   * `cf push -o IMAGE` at once instead of leaving an instance unplaced.
   */
  readonly supportsDockerImages?: boolean;
  /** Create the LRP (or no-op when the same process_guid is already desired). */
  desireLRP(lrp: LRP): Promise<void>;
  /** Change instances, routes, annotation (last_updated) or image/lifecycle. */
  updateLRP(update: LRPUpdate): Promise<void>;
  /** Null when no such process is desired. */
  getLRP(processGuid: string): Promise<LRP | null>;
  /** Every desired LRP, with the stamp the Sink compares (`annotation` = last_updated). */
  listLRPs(): Promise<LRPSchedulingInfo[]>;
  /** Stop every instance and forget the LRP; succeeds when it is already gone. */
  stopLRP(processGuid: string): Promise<void>;
  /** Stop (restart) one instance; the backend brings it back while the LRP is desired. */
  stopInstance(processGuid: string, index: number): Promise<void>;
  /** Instances of a desired process, by index; empty when the process is unknown. */
  getInstances(processGuid: string): Promise<Instance[]>;

  desireTask(task: Task): Promise<void>;
  getTask(taskGuid: string): Promise<TaskStatus | null>;
  listTasks(): Promise<TaskStatus[]>;
  /** Cancel a running task (it ends FAILED with reason "cancelled"); unknown or finished is a no-op. */
  cancelTask(taskGuid: string): Promise<void>;

  /** One stream of instance state changes, crashes and task completions. Returns unsubscribe. */
  subscribe(listener: (event: OpiEvent) => void): () => void;
  /** Live targets for a route host (e.g. "myapp.apps.localhost"), RUNNING instances only. */
  routeTargets(host: string): RouteTarget[];
  /**
   * Optional: whether some desired LRP routes `host` at all, RUNNING or not,
   * so the router can answer 503 (no instance up) rather than 404 (unknown route).
   */
  knowsRoute?(host: string): boolean;

  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A process or task the backend does not know. */
export class OpiNotFoundError extends Error {
  override name = "OpiNotFoundError";
}

/** Input the backend cannot act on (bad image, missing droplet, invalid names). */
export class OpiInvalidError extends Error {
  override name = "OpiInvalidError";
}
