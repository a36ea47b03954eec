import { z } from "zod";

/**
 * What the cf CLI decodes from our answers, field by field, as zod schemas.
 * Each mirrors a Go struct in cloudfoundry/cli (path in the comment); Go's
 * json decoding fails on a type mismatch, so the types here matter.
 */
const href = z.object({ href: z.string().url() });

// api/cloudcontroller/ccv3/info.go (Info, InfoLinks; CloudControllerAPIVersion reads links.cloud_controller_v3.meta.version)
export const RootInfo = z.object({
  links: z.object({
    cloud_controller_v3: z.object({ href: z.string().url(), meta: z.object({ version: z.string().regex(/^3\.\d+\.\d+$/) }) }),
    login: href,
    uaa: href,
    log_cache: href,
    app_ssh: z.null(),
    routing: z.null(),
    network_policy_v1: z.null(),
    logging: z.null(),
  }),
});

// api/uaa/info.go + prompts.go (GET <login>/login)
export const UaaLogin = z.object({ app: z.object({ version: z.string() }), links: z.object({ uaa: z.string().url(), login: z.string().url() }), prompts: z.record(z.string(), z.array(z.string())) });

// api/uaa/auth.go (AuthResponse) and refresh_token.go
export const TokenResponse = z.object({ access_token: z.string(), refresh_token: z.string(), token_type: z.literal("bearer"), expires_in: z.number().int() });

// api/cloudcontroller/ccv3/paginated_resources.go
export const Page = z.object({
  pagination: z.object({ total_results: z.number().int(), total_pages: z.number().int(), next: z.object({ href: z.string() }).nullable() }),
  resources: z.array(z.unknown()),
});

// resources/organization_resource.go, resources/space_resource.go
export const Org = z.object({ guid: z.string(), name: z.string(), suspended: z.boolean(), relationships: z.object({ quota: z.object({ data: z.object({ guid: z.string() }).nullable() }) }) });
export const Space = z.object({ guid: z.string(), name: z.string(), relationships: z.object({ organization: z.object({ data: z.object({ guid: z.string() }) }) }) });

// resources/application_resource.go (ccApplication + ccLifecycle)
export const App = z.object({
  guid: z.string(),
  name: z.string(),
  state: z.enum(["STARTED", "STOPPED"]),
  lifecycle: z.object({ type: z.enum(["buildpack", "docker"]), data: z.object({ buildpacks: z.array(z.string()).optional(), stack: z.string().optional() }) }),
  relationships: z.object({ space: z.object({ data: z.object({ guid: z.string() }) }) }),
  metadata: z.object({ labels: z.record(z.string(), z.string()), annotations: z.record(z.string(), z.string()) }),
});

// api/cloudcontroller/ccv3/job.go (Job: errors[].code/detail/title, state COMPLETE|FAILED|PROCESSING)
export const Job = z.object({ guid: z.string(), state: z.enum(["COMPLETE", "FAILED", "PROCESSING"]), errors: z.array(z.object({ code: z.number(), detail: z.string(), title: z.string() })), warnings: z.array(z.object({ detail: z.string() })) });

// api/cloudcontroller/ccv3/resource.go (Resource: mode is an octal string parsed with ParseUint(_, 8, 32))
export const ResourceMatches = z.object({ resources: z.array(z.object({ path: z.string(), mode: z.string().regex(/^[0-7]+$/), checksum: z.object({ value: z.string() }), size_in_bytes: z.number().int() })) });

// api/cloudcontroller/ccv3/package.go (Package) + constant/package.go states
export const Package = z.object({ guid: z.string(), created_at: z.string(), state: z.enum(["AWAITING_UPLOAD", "PROCESSING_UPLOAD", "READY", "FAILED", "COPYING", "EXPIRED"]), type: z.enum(["bits", "docker"]), data: z.object({}).passthrough(), relationships: z.object({ app: z.object({ data: z.object({ guid: z.string() }) }) }) });

// resources/build_resource.go (droplet.guid, error, state, package.guid, created_at)
export const Build = z.object({ guid: z.string(), created_at: z.string(), state: z.enum(["STAGING", "STAGED", "FAILED"]), error: z.string().nullable(), droplet: z.object({ guid: z.string() }).nullable(), package: z.object({ guid: z.string() }) });

// resources/droplet_resource.go (state, created_at, image, stack, buildpacks[].name/buildpack_name/detect_output/version)
export const Droplet = z.object({
  guid: z.string(), state: z.string(), created_at: z.string(), stack: z.string().nullable(), image: z.string().nullable(),
  buildpacks: z.array(z.object({ name: z.string(), buildpack_name: z.string(), detect_output: z.string(), version: z.string().nullable() })),
});

// resources/relationship_resource.go (data.guid)
export const Relationship = z.object({ data: z.object({ guid: z.string() }).nullable() });

// resources/process_resource.go (Process.UnmarshalJSON)
export const Process = z.object({
  guid: z.string(), type: z.string(), command: z.string().nullable(), instances: z.number().int(), memory_in_mb: z.number().int(), disk_in_mb: z.number().int(),
  health_check: z.object({ type: z.enum(["port", "http", "process"]), data: z.object({ timeout: z.number().int().nullable(), invocation_timeout: z.number().int().nullable(), endpoint: z.string().optional() }) }),
  relationships: z.object({ app: z.object({ data: z.object({ guid: z.string() }) }) }),
});

// api/cloudcontroller/ccv3/process_instance.go (ProcessInstance.UnmarshalJSON; uptime int seconds, state per constant/process.go)
export const ProcessInstance = z.object({
  index: z.number().int(), state: z.enum(["RUNNING", "CRASHED", "STARTING", "DOWN"]), type: z.string(), uptime: z.number().int(), mem_quota: z.number().int(), disk_quota: z.number().int(),
  details: z.string().nullable(), isolation_segment: z.string().nullable(), usage: z.object({ cpu: z.number().optional(), mem: z.number().optional(), disk: z.number().optional() }),
});

// resources/route_resource.go (destinations[].app.guid/app.process.type, host, path, url, relationships)
export const Route = z.object({
  guid: z.string(), host: z.string(), path: z.string(), url: z.string(), protocol: z.string(), port: z.number().nullable(),
  destinations: z.array(z.object({ guid: z.string(), app: z.object({ guid: z.string(), process: z.object({ type: z.string() }) }), port: z.number().int() })),
  relationships: z.object({ space: z.object({ data: z.object({ guid: z.string() }) }), domain: z.object({ data: z.object({ guid: z.string() }) }) }),
});

// resources/domain_resource.go
export const Domain = z.object({ guid: z.string(), name: z.string(), internal: z.boolean(), router_group: z.null(), supported_protocols: z.array(z.string()) });

// resources/task_resource.go
export const Task = z.object({ guid: z.string(), sequence_id: z.number().int(), name: z.string(), state: z.enum(["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELING"]), memory_in_mb: z.number().int(), disk_in_mb: z.number().int(), created_at: z.string(), result: z.object({ failure_reason: z.string().nullable() }) });

// api/cloudcontroller/ccv3/event.go (Event: guid, created_at, type, actor.name, data)
export const Event = z.object({ guid: z.string(), created_at: z.string(), type: z.string(), actor: z.object({ guid: z.string(), type: z.string(), name: z.string() }), target: z.object({ guid: z.string(), type: z.string(), name: z.string() }), data: z.record(z.string(), z.unknown()) });

// api/cloudcontroller/ccv3/environment.go (Environment)
export const Env = z.object({ staging_env_json: z.record(z.string(), z.unknown()), running_env_json: z.record(z.string(), z.unknown()), environment_variables: z.record(z.string(), z.string()), system_env_json: z.record(z.string(), z.unknown()), application_env_json: z.record(z.string(), z.unknown()) });

// resources/environment_variables_resource.go (var: map[string]NullString)
export const EnvVars = z.object({ var: z.record(z.string(), z.string()) });

// api/cloudcontroller/ccv3/errors.go (CCErrorResponse)
export const CfErrors = z.object({ errors: z.array(z.object({ code: z.number().int(), title: z.string().startsWith("CF-"), detail: z.string() })).min(1) });

// go-log-cache v2 Read -> loggregator_v2.EnvelopeBatch via protojson (int64 as strings, bytes base64)
export const Envelopes = z.object({
  envelopes: z.object({ batch: z.array(z.object({ timestamp: z.string().regex(/^\d+$/), source_id: z.string(), instance_id: z.string(), tags: z.object({ source_type: z.string() }), log: z.object({ payload: z.string(), type: z.enum(["OUT", "ERR"]) }) })) }),
});

export function parseAs<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`CLI shape mismatch: ${JSON.stringify(r.error.issues.slice(0, 5))}\n${JSON.stringify(value).slice(0, 800)}`);
  return r.data;
}
