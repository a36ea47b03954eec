import type { Instance, LRP, LRPSchedulingInfo, LRPUpdate, OpiEvent, Task, TaskStatus } from "../model/index.ts";

/** An LRP as a backend reports it back: the desired record plus its actual instances. */
export interface ActualLRP {
  lrp: LRP;
  instances: Instance[];
}

/**
 * A route's live target: one RUNNING instance the router may send traffic to
 * for a host, on one of the host's route paths.
 */
export interface RouteTarget {
  process_guid: string;
  /** The app the process belongs to: the access log's app_id and X-Cf-App-Instance's GUID. */
  app_guid: string;
  index: number;
  /** The instance's unique id: sticky sessions (__VCAP_ID__) and X-CF-InstanceID. */
  instance_guid: string;
  /** host:port the router connects to (local: 127.0.0.1:<PORT>; kube: pod IP or service proxy). */
  address: string;
  /** The route's path ("" = the whole host; "/a" = /a and below, see `routeKey`). */
  path: string;
  /** Relative weight of this route destination (the route entry's weight, default 1). */
  weight: number;
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
  /**
   * Live targets for a route host (e.g. "myapp.apps.localhost", any case, port
   * ignored), RUNNING instances only, for every path routed on that host:
   * a route entry "host/path" (CF's route with a path) gives targets with
   * `path` "/path"; the router picks the longest path covering a request.
   */
  routeTargets(host: string): RouteTarget[];
  /**
   * Optional: whether some desired LRP routes `host` at all, RUNNING or not,
   * so the router can answer 503 (no instance up) rather than 404 (unknown route).
   */
  knowsRoute?(host: string): boolean;
  /**
   * Optional: every route path desired on `host` ("" for the bare host),
   * RUNNING or not, so a request under a path whose instances are all down
   * gets 503 instead of falling through to a shorter path's app; empty for
   * an unknown host. Without it the router uses the paths of live targets.
   */
  routePaths?(host: string): string[];

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
