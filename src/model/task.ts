import { z } from "zod";

export const TaskState = z.enum(["PENDING", "RUNNING", "SUCCEEDED", "FAILED"]);
export type TaskState = z.infer<typeof TaskState>;

/** A one-off task as desired through OPI (`POST /tasks/:task_guid`). */
export const Task = z.object({
  guid: z.string().min(1),
  name: z.string().default(""),
  app_guid: z.string().min(1),
  app_name: z.string().default(""),
  space_guid: z.string().default(""),
  space_name: z.string().default(""),
  organization_guid: z.string().default(""),
  organization_name: z.string().default(""),
  environment: z.record(z.string(), z.string()).default({}),
  memory_mb: z.number().int().positive().default(1024),
  disk_mb: z.number().int().positive().default(1024),
  cpu_weight: z.number().int().min(0).max(100).optional(),
  command: z.string().min(1),
  /** App log bytes per second beyond which lines are dropped (-1 or absent = unlimited). */
  log_rate_limit_bytes_per_second: z.number().int().min(-1).optional(),
  completion_callback: z.string().default(""),
  lifecycle: z
    .union([
      z.object({ docker_lifecycle: z.object({ image: z.string().min(1) }) }),
      z.object({ buildpack_lifecycle: z.object({ droplet_guid: z.string().min(1), droplet_hash: z.string().min(1) }) }),
    ])
    .optional(),
});
export type Task = z.infer<typeof Task>;
export type TaskInput = z.input<typeof Task>;

export const TaskStatus = z.object({
  guid: z.string(),
  state: TaskState,
  failure_reason: z.string().default(""),
  exit_code: z.number().int().nullable().default(null),
  started_at: z.number().int().nullable().default(null),
  finished_at: z.number().int().nullable().default(null),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

/** Callback body to Cloud Controller: `POST /internal/v4/tasks/:guid/completed`. */
export const TaskCompletion = z.object({
  task_guid: z.string(),
  failed: z.boolean(),
  failure_reason: z.string(),
});
export type TaskCompletion = z.infer<typeof TaskCompletion>;
