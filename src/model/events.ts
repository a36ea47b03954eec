import { z } from "zod";
import { InstanceState } from "./instance.ts";
import { TaskState } from "./task.ts";

/** An instance changed state (placed, running, crashed, ...). */
export const InstanceStateChanged = z.object({
  type: z.literal("instance_state"),
  process_guid: z.string(),
  index: z.number().int().nonnegative(),
  state: InstanceState,
  reason: z.string().default(""),
  at: z.number(),
});

/** A crash, with the fields Cloud Controller's crash callback expects. */
export const InstanceCrashed = z.object({
  type: z.literal("crash"),
  process_guid: z.string(),
  instance: z.string(),
  index: z.number().int().nonnegative(),
  reason: z.string(),
  exit_status: z.number().int(),
  exit_description: z.string(),
  crash_count: z.number().int().nonnegative(),
  crash_timestamp: z.number(),
});

export const TaskCompleted = z.object({
  type: z.literal("task_completed"),
  task_guid: z.string(),
  state: TaskState,
  failed: z.boolean(),
  failure_reason: z.string(),
  at: z.number(),
});

export const OpiEvent = z.discriminatedUnion("type", [InstanceStateChanged, InstanceCrashed, TaskCompleted]);
export type OpiEvent = z.infer<typeof OpiEvent>;
export type InstanceStateChanged = z.infer<typeof InstanceStateChanged>;
export type InstanceCrashed = z.infer<typeof InstanceCrashed>;
export type TaskCompleted = z.infer<typeof TaskCompleted>;

/** A CF audit event (`/v3/audit_events`). */
export const AuditEvent = z.object({
  guid: z.string(),
  type: z.string(),
  actor: z.object({ guid: z.string(), type: z.string(), name: z.string() }),
  target: z.object({ guid: z.string(), type: z.string(), name: z.string() }),
  data: z.record(z.string(), z.unknown()).default({}),
  space_guid: z.string().default(""),
  organization_guid: z.string().default(""),
  created_at: z.string(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
