import { z } from "zod";

/** Health check kinds a process can declare; `port` is CF's default. */
export const HealthCheckType = z.enum(["port", "http", "process"]);
export type HealthCheckType = z.infer<typeof HealthCheckType>;

/** One route of an LRP: `hostname` may carry a path ("host/path"); `weight` is the destination's relative share (default 1). */
export const RouteEntry = z.object({ hostname: z.string().min(1), port: z.number().int().min(1).max(65535), weight: z.number().int().positive().optional() });
export type RouteEntry = z.infer<typeof RouteEntry>;

/** A route host as routers compare it: lower case, no port, no trailing dot ("MyApp.apps.localhost:7080" -> "myapp.apps.localhost"). */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** Routes keyed by router name, as Cloud Controller sends them (`{"cf-router": [...]}`). */
export const Routes = z.record(z.string(), z.array(RouteEntry));
export type Routes = z.infer<typeof Routes>;

export const DockerLifecycle = z.object({
  image: z.string().min(1),
  command: z.array(z.string()).default([]),
  registry_username: z.string().optional(),
  registry_password: z.string().optional(),
});

export const BuildpackLifecycle = z.object({
  droplet_guid: z.string().min(1),
  droplet_hash: z.string().min(1),
  start_command: z.string().default(""),
});

export const Lifecycle = z.union([
  z.object({ docker_lifecycle: DockerLifecycle }),
  z.object({ buildpack_lifecycle: BuildpackLifecycle }),
]);
export type Lifecycle = z.infer<typeof Lifecycle>;

export const VolumeMount = z.object({ volume_id: z.string(), mount_dir: z.string(), device_type: z.string().optional() });

/** Cpu weight per DESIGN.md 4: 100 * max(128, memory_mb) / 8192, capped at 100. */
export function cpuWeight(memoryMb: number): number {
  return Math.min(100, Math.floor((100 * Math.max(128, memoryMb)) / 8192));
}

/** A desired long-running process, field names as in Eirini's OPI. */
export const LRP = z.object({
  guid: z.string().min(1),
  version: z.string().min(1),
  process_guid: z.string().min(1),
  process_type: z.string().default("web"),
  app_guid: z.string().min(1),
  app_name: z.string().min(1),
  space_guid: z.string().default(""),
  space_name: z.string().default(""),
  organization_guid: z.string().default(""),
  organization_name: z.string().default(""),
  environment: z.record(z.string(), z.string()).default({}),
  instances: z.number().int().min(0),
  memory_mb: z.number().int().positive().default(1024),
  disk_mb: z.number().int().positive().default(1024),
  cpu_weight: z.number().int().min(0).max(100).optional(),
  ports: z.array(z.number().int().min(1).max(65535)).default([8080]),
  routes: Routes.default({}),
  health_check_type: HealthCheckType.default("port"),
  health_check_http_endpoint: z.string().default("/"),
  health_check_timeout_ms: z.number().int().nonnegative().default(1000),
  start_timeout_ms: z.number().int().nonnegative().default(60_000),
  placement_tags: z.array(z.string()).default([]),
  volume_mounts: z.array(VolumeMount).default([]),
  user_defined_annotations: z.record(z.string(), z.string()).default({}),
  last_updated: z.string().default(""),
  lifecycle: Lifecycle,
});
export type LRP = z.infer<typeof LRP>;
export type LRPInput = z.input<typeof LRP>;

/** `<guid>-<version>`, the key Cloud Controller and the Sink use for a process. */
export function processGuid(guid: string, version: string): string {
  return `${guid}-${version}`;
}

/** What an LRP update may change (Eirini's `POST /apps/:process_guid` body). */
export const LRPUpdate = z.object({
  guid: z.string().min(1),
  version: z.string().min(1),
  update: z.object({
    instances: z.number().int().min(0).optional(),
    routes: Routes.optional(),
    annotation: z.string().optional(),
    image: z.string().optional(),
    lifecycle: Lifecycle.optional(),
  }),
});
export type LRPUpdate = z.infer<typeof LRPUpdate>;

/** Scheduling info the Sink and Cloud Controller compare: identity plus the last-updated stamp. */
export const LRPSchedulingInfo = z.object({
  desired_lrp_key: z.object({ process_guid: z.string() }),
  guid: z.string(),
  version: z.string(),
  annotation: z.string(),
});
export type LRPSchedulingInfo = z.infer<typeof LRPSchedulingInfo>;
