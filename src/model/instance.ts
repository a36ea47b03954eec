import { z } from "zod";

/** Diego/Eirini instance states (DESIGN.md 3). */
export const InstanceState = z.enum(["UNCLAIMED", "CLAIMED", "RUNNING", "CRASHED", "UNKNOWN"]);
export type InstanceState = z.infer<typeof InstanceState>;

/**
 * What an instance uses, as CF's process stats report it: `cpu` a fraction
 * of one core over the last measurement period, `mem` and `disk` in bytes,
 * `time` when it was measured (ISO 8601).
 */
export const InstanceUsage = z.object({
  time: z.string(),
  cpu: z.number().nonnegative(),
  mem: z.number().int().nonnegative(),
  disk: z.number().int().nonnegative(),
});
export type InstanceUsage = z.infer<typeof InstanceUsage>;

export const Instance = z.object({
  index: z.number().int().nonnegative(),
  /** Unix seconds of the last state change, as Eirini reports it. */
  since: z.number().int().nonnegative(),
  state: InstanceState,
  placement_error: z.string().default(""),
  crash_count: z.number().int().nonnegative().default(0),
  crash_reason: z.string().default(""),
  host: z.string().default(""),
  port: z.number().int().nonnegative().default(0),
  instance_guid: z.string().default(""),
  cell: z.string().default(""),
  /** Measured usage of a running instance; absent where the backend cannot measure it. */
  usage: InstanceUsage.optional(),
  /** Why an instance that is not crashed is not running yet, in the scheduler's words (an image pull failure): CF stats' `details`. */
  details: z.string().optional(),
});
export type Instance = z.infer<typeof Instance>;

/** Body of `GET /apps/:process_guid/:version/instances`. */
export const InstancesResponse = z.object({
  process_guid: z.string(),
  instances: z.array(Instance),
  error: z.string().default(""),
});
export type InstancesResponse = z.infer<typeof InstancesResponse>;
