import { z } from "zod";

export const BuildpackRef = z.object({ name: z.string().min(1), key: z.string().optional(), url: z.string().optional(), skip_detect: z.boolean().default(false) });

/** `POST /stage/:staging_guid`: what to stage and where to report. */
export const StagingRequest = z.object({
  staging_guid: z.string().min(1),
  app_guid: z.string().min(1),
  app_name: z.string().default(""),
  space_guid: z.string().default(""),
  space_name: z.string().default(""),
  organization_guid: z.string().default(""),
  organization_name: z.string().default(""),
  environment: z.record(z.string(), z.string()).default({}),
  memory_mb: z.number().int().positive().default(1024),
  disk_mb: z.number().int().positive().default(1024),
  stack: z.string().default("cflinuxfs4"),
  buildpacks: z.array(BuildpackRef).default([]),
  start_command: z.string().default(""),
  package_guid: z.string().default(""),
  completion_callback: z.string().default(""),
  timeout_ms: z.number().int().positive().default(15 * 60_000),
});
export type StagingRequest = z.infer<typeof StagingRequest>;
export type StagingRequestInput = z.input<typeof StagingRequest>;

/** What staging produced; `result` of the completion callback. */
export const StagingResult = z.object({
  droplet_guid: z.string(),
  droplet_hash: z.string(),
  detected_buildpack: z.string(),
  buildpack_name: z.string().default(""),
  start_command: z.string(),
  process_types: z.record(z.string(), z.string()),
  duration_ms: z.number().nonnegative(),
});
export type StagingResult = z.infer<typeof StagingResult>;

/** Body POSTed to a staging `completion_callback`. */
export const StagingCompletion = z.union([
  z.object({ result: StagingResult }),
  z.object({ error: z.object({ id: z.literal("StagingError"), message: z.string() }) }),
]);
export type StagingCompletion = z.infer<typeof StagingCompletion>;
