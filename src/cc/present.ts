import { isoSeconds } from "./clock.ts";
import { DEFAULT_ORG_QUOTA_GUID } from "./quotas.ts";
import { renderMetadata, type MetadataColumns } from "./metadata.ts";
import type {
  AppRow, AuditRow, BuildRow, DestinationRow, DomainRow, DropletRow, JobRow, OrgRow, PackageRow, ProcessRow, RouteRow, SpaceRow, TaskRow,
} from "./rows.ts";

/**
 * JSON renderings of V3 resources, field names as Cloud Controller sends
 * them and the cf CLI decodes them (resources/*.go, ccv3/*.go in
 * cloudfoundry/cli). Links are absolute because the CLI follows them.
 */
const ts = (s: string) => isoSeconds(new Date(s));
// Resources without metadata columns (packages, builds, droplets, domains, tasks) render empty metadata.
const meta = (row: MetadataColumns = {}) => renderMetadata(row);
const rel = (guid: string | null) => ({ data: guid ? { guid } : null });

export function org(b: string, o: OrgRow) {
  return {
    guid: o.guid, created_at: ts(o.created_at), updated_at: ts(o.updated_at), name: o.name, suspended: false,
    relationships: { quota: rel(DEFAULT_ORG_QUOTA_GUID) }, metadata: meta(o),
    links: { self: { href: `${b}/v3/organizations/${o.guid}` }, domains: { href: `${b}/v3/organizations/${o.guid}/domains` }, default_domain: { href: `${b}/v3/organizations/${o.guid}/domains/default` } },
  };
}

export function space(b: string, s: SpaceRow) {
  return {
    guid: s.guid, created_at: ts(s.created_at), updated_at: ts(s.updated_at), name: s.name,
    relationships: { organization: rel(s.org_guid), quota: rel(null) }, metadata: meta(s),
    links: { self: { href: `${b}/v3/spaces/${s.guid}` }, organization: { href: `${b}/v3/organizations/${s.org_guid}` } },
  };
}

export function app(b: string, a: AppRow) {
  const lifecycle = a.lifecycle_type === "docker"
    ? { type: "docker", data: {} }
    : { type: "buildpack", data: { buildpacks: JSON.parse(a.buildpacks) as string[], stack: a.stack } };
  const self = `${b}/v3/apps/${a.guid}`;
  return {
    guid: a.guid, created_at: ts(a.created_at), updated_at: ts(a.updated_at), name: a.name, state: a.state, lifecycle,
    relationships: { space: rel(a.space_guid) }, metadata: meta(a),
    links: {
      self: { href: self }, space: { href: `${b}/v3/spaces/${a.space_guid}` }, processes: { href: `${self}/processes` },
      packages: { href: `${self}/packages` }, environment_variables: { href: `${self}/environment_variables` },
      current_droplet: { href: `${self}/droplets/current` }, droplets: { href: `${self}/droplets` }, tasks: { href: `${self}/tasks` },
      start: { href: `${self}/actions/start`, method: "POST" }, stop: { href: `${self}/actions/stop`, method: "POST" },
      revisions: { href: `${self}/revisions` }, deployed_revisions: { href: `${self}/revisions/deployed` }, features: { href: `${self}/features` },
    },
  };
}

export function pkg(b: string, p: PackageRow) {
  const self = `${b}/v3/packages/${p.guid}`;
  const data = p.type === "docker"
    ? { image: p.docker_image ?? "", username: null, password: null }
    : { checksum: { type: "sha256", value: p.blob_digest ? p.blob_digest.slice(7) : null }, error: p.error };
  return {
    guid: p.guid, created_at: ts(p.created_at), updated_at: ts(p.updated_at), type: p.type, state: p.state, data,
    relationships: { app: rel(p.app_guid) }, metadata: meta(),
    links: {
      self: { href: self }, app: { href: `${b}/v3/apps/${p.app_guid}` },
      ...(p.type === "bits" ? { upload: { href: `${self}/upload`, method: "POST" }, download: { href: `${self}/download`, method: "GET" } } : {}),
    },
  };
}

export function build(b: string, r: BuildRow) {
  return {
    guid: r.guid, created_at: ts(r.created_at), updated_at: ts(r.updated_at), state: r.state, error: r.error,
    staging_memory_in_mb: r.staging_memory_in_mb, staging_disk_in_mb: r.staging_disk_in_mb, staging_log_rate_limit_bytes_per_second: -1,
    lifecycle: r.lifecycle_type === "docker" ? { type: "docker", data: {} } : { type: "buildpack", data: { buildpacks: JSON.parse(r.buildpacks) as string[], stack: r.stack } },
    package: { guid: r.package_guid }, droplet: r.droplet_guid ? { guid: r.droplet_guid } : null,
    created_by: { guid: r.created_by_guid, name: r.created_by_name, email: r.created_by_name },
    relationships: { app: rel(r.app_guid) }, metadata: meta(),
    links: { self: { href: `${b}/v3/builds/${r.guid}` }, app: { href: `${b}/v3/apps/${r.app_guid}` }, ...(r.droplet_guid ? { droplet: { href: `${b}/v3/droplets/${r.droplet_guid}` } } : {}) },
  };
}

export function droplet(b: string, d: DropletRow) {
  const docker = d.lifecycle_type === "docker";
  return {
    guid: d.guid, created_at: ts(d.created_at), updated_at: ts(d.updated_at), state: d.state, error: d.error,
    lifecycle: docker ? { type: "docker", data: {} } : { type: "buildpack", data: {} },
    execution_metadata: "", process_types: JSON.parse(d.process_types) as Record<string, string>,
    checksum: d.hash ? { type: "sha256", value: d.hash } : null,
    buildpacks: docker || !d.detected_buildpack ? [] : [{ name: d.buildpack_name || d.detected_buildpack, detect_output: d.detected_buildpack, buildpack_name: d.buildpack_name || d.detected_buildpack, version: null }],
    stack: docker ? null : d.stack, image: docker ? d.docker_image : null,
    relationships: { app: rel(d.app_guid) }, metadata: meta(),
    links: {
      self: { href: `${b}/v3/droplets/${d.guid}` }, app: { href: `${b}/v3/apps/${d.app_guid}` },
      ...(d.package_guid ? { package: { href: `${b}/v3/packages/${d.package_guid}` } } : {}),
      assign_current_droplet: { href: `${b}/v3/apps/${d.app_guid}/relationships/current_droplet`, method: "PATCH" },
    },
  };
}

export function process(b: string, p: ProcessRow, redactCommand: boolean) {
  return {
    guid: p.guid, created_at: ts(p.created_at), updated_at: ts(p.updated_at), type: p.type,
    command: redactCommand ? "[PRIVATE DATA HIDDEN IN LISTS]" : p.command,
    instances: p.instances, memory_in_mb: p.memory_in_mb, disk_in_mb: p.disk_in_mb, log_rate_limit_in_bytes_per_second: -1,
    health_check: {
      type: p.health_check_type,
      data: { timeout: p.health_check_timeout, invocation_timeout: p.health_check_invocation_timeout, ...(p.health_check_type === "http" ? { endpoint: p.health_check_endpoint ?? "/" } : {}) },
    },
    readiness_health_check: { type: "process", data: { invocation_timeout: null, interval: null } },
    relationships: { app: rel(p.app_guid), revision: rel(null) }, metadata: meta(p),
    links: {
      self: { href: `${b}/v3/processes/${p.guid}` }, scale: { href: `${b}/v3/processes/${p.guid}/actions/scale`, method: "POST" },
      app: { href: `${b}/v3/apps/${p.app_guid}` }, space: { href: `${b}/v3/apps/${p.app_guid}` }, stats: { href: `${b}/v3/processes/${p.guid}/stats` },
    },
  };
}

export function domain(b: string, d: DomainRow) {
  return {
    guid: d.guid, created_at: ts(d.created_at), updated_at: ts(d.updated_at), name: d.name, internal: d.internal === 1,
    router_group: null, supported_protocols: ["http"],
    relationships: { organization: rel(d.org_guid ?? null), shared_organizations: { data: [] } }, metadata: meta(),
    links: { self: { href: `${b}/v3/domains/${d.guid}` }, route_reservations: { href: `${b}/v3/domains/${d.guid}/route_reservations` } },
  };
}

export function destination(d: DestinationRow) {
  return { guid: d.guid, app: { guid: d.app_guid, process: { type: d.process_type } }, weight: null, port: d.port, protocol: "http1" };
}

export function route(b: string, r: RouteRow, domainName: string, dests: DestinationRow[]) {
  const host = r.host ? `${r.host}.${domainName}` : domainName;
  return {
    guid: r.guid, created_at: ts(r.created_at), updated_at: ts(r.updated_at), protocol: "http", host: r.host, path: r.path, port: null,
    url: `${host}${r.path}`, destinations: dests.map(destination), options: {},
    relationships: { space: rel(r.space_guid), domain: rel(r.domain_guid) }, metadata: meta(r),
    links: {
      self: { href: `${b}/v3/routes/${r.guid}` }, space: { href: `${b}/v3/spaces/${r.space_guid}` },
      domain: { href: `${b}/v3/domains/${r.domain_guid}` }, destinations: { href: `${b}/v3/routes/${r.guid}/destinations` },
    },
  };
}

export function task(b: string, t: TaskRow, redactCommand: boolean) {
  return {
    guid: t.guid, created_at: ts(t.created_at), updated_at: ts(t.updated_at), sequence_id: t.sequence_id, name: t.name,
    ...(redactCommand ? {} : { command: t.command }),
    state: t.state, memory_in_mb: t.memory_in_mb, disk_in_mb: t.disk_in_mb, log_rate_limit_in_bytes_per_second: -1,
    result: { failure_reason: t.failure_reason }, droplet_guid: t.droplet_guid,
    relationships: { app: rel(t.app_guid) }, metadata: meta(),
    links: {
      self: { href: `${b}/v3/tasks/${t.guid}` }, app: { href: `${b}/v3/apps/${t.app_guid}` },
      cancel: { href: `${b}/v3/tasks/${t.guid}/actions/cancel`, method: "POST" }, droplet: { href: `${b}/v3/droplets/${t.droplet_guid}` },
    },
  };
}

export function auditEvent(b: string, e: AuditRow) {
  return {
    guid: e.guid, created_at: ts(e.created_at), updated_at: ts(e.created_at), type: e.type,
    actor: { guid: e.actor_guid, type: e.actor_type, name: e.actor_name },
    target: { guid: e.target_guid, type: e.target_type, name: e.target_name },
    data: JSON.parse(e.data) as Record<string, unknown>,
    space: e.space_guid ? { guid: e.space_guid } : null,
    organization: e.organization_guid ? { guid: e.organization_guid } : null,
    links: { self: { href: `${b}/v3/audit_events/${e.guid}` } },
  };
}

export function job(b: string, j: JobRow) {
  return {
    guid: j.guid, created_at: ts(j.created_at), updated_at: ts(j.updated_at), operation: j.operation, state: j.state,
    errors: JSON.parse(j.errors) as unknown[], warnings: JSON.parse(j.warnings) as unknown[],
    links: { self: { href: `${b}/v3/jobs/${j.guid}` } },
  };
}
