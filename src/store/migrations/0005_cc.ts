/**
 * Tables of the embedded Cloud Controller (src/cc): the CF V3 resources the
 * API serves and the desired state the Sink reads. Timestamps are ISO-8601
 * strings as CF renders them; JSON columns hold small objects.
 */
export default {
  version: 5,
  name: "cc",
  sql: `
CREATE TABLE cc_orgs (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE cc_spaces (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL,
  org_guid TEXT NOT NULL REFERENCES cc_orgs(guid) ON DELETE CASCADE,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (org_guid, name)
);
CREATE TABLE cc_apps (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL,
  space_guid TEXT NOT NULL REFERENCES cc_spaces(guid) ON DELETE CASCADE,
  state TEXT NOT NULL DEFAULT 'STOPPED',
  lifecycle_type TEXT NOT NULL DEFAULT 'buildpack',
  buildpacks TEXT NOT NULL DEFAULT '[]',
  stack TEXT NOT NULL DEFAULT '',
  env TEXT NOT NULL DEFAULT '{}',
  droplet_guid TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (space_guid, name)
);
CREATE TABLE cc_packages (
  guid TEXT PRIMARY KEY,
  app_guid TEXT NOT NULL REFERENCES cc_apps(guid) ON DELETE CASCADE,
  type TEXT NOT NULL, state TEXT NOT NULL,
  blob_digest TEXT, docker_image TEXT, error TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX cc_packages_app ON cc_packages(app_guid);
CREATE TABLE cc_resource_cache (
  sha1 TEXT PRIMARY KEY, size INTEGER NOT NULL, blob_digest TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE cc_droplets (
  guid TEXT PRIMARY KEY,
  app_guid TEXT NOT NULL REFERENCES cc_apps(guid) ON DELETE CASCADE,
  package_guid TEXT, state TEXT NOT NULL, error TEXT,
  lifecycle_type TEXT NOT NULL DEFAULT 'buildpack',
  hash TEXT, docker_image TEXT, stack TEXT NOT NULL DEFAULT '',
  detected_buildpack TEXT NOT NULL DEFAULT '', buildpack_name TEXT NOT NULL DEFAULT '',
  start_command TEXT NOT NULL DEFAULT '', process_types TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX cc_droplets_app ON cc_droplets(app_guid);
CREATE TABLE cc_builds (
  guid TEXT PRIMARY KEY,
  app_guid TEXT NOT NULL REFERENCES cc_apps(guid) ON DELETE CASCADE,
  package_guid TEXT NOT NULL, state TEXT NOT NULL, error TEXT, droplet_guid TEXT,
  lifecycle_type TEXT NOT NULL DEFAULT 'buildpack', buildpacks TEXT NOT NULL DEFAULT '[]', stack TEXT NOT NULL DEFAULT '',
  staging_memory_in_mb INTEGER NOT NULL, staging_disk_in_mb INTEGER NOT NULL,
  created_by_guid TEXT NOT NULL DEFAULT '', created_by_name TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX cc_builds_app ON cc_builds(app_guid);
CREATE TABLE cc_processes (
  guid TEXT PRIMARY KEY,
  app_guid TEXT NOT NULL REFERENCES cc_apps(guid) ON DELETE CASCADE,
  type TEXT NOT NULL, command TEXT,
  instances INTEGER NOT NULL, memory_in_mb INTEGER NOT NULL, disk_in_mb INTEGER NOT NULL,
  health_check_type TEXT NOT NULL DEFAULT 'port', health_check_endpoint TEXT,
  health_check_timeout INTEGER, health_check_invocation_timeout INTEGER,
  version TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (app_guid, type)
);
CREATE TABLE cc_domains (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, internal INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE cc_routes (
  guid TEXT PRIMARY KEY, host TEXT NOT NULL, path TEXT NOT NULL DEFAULT '',
  domain_guid TEXT NOT NULL REFERENCES cc_domains(guid),
  space_guid TEXT NOT NULL REFERENCES cc_spaces(guid) ON DELETE CASCADE,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (host, domain_guid, path)
);
CREATE TABLE cc_destinations (
  guid TEXT PRIMARY KEY,
  route_guid TEXT NOT NULL REFERENCES cc_routes(guid) ON DELETE CASCADE,
  app_guid TEXT NOT NULL REFERENCES cc_apps(guid) ON DELETE CASCADE,
  process_type TEXT NOT NULL DEFAULT 'web', port INTEGER NOT NULL DEFAULT 8080,
  created_at TEXT NOT NULL,
  UNIQUE (route_guid, app_guid, process_type)
);
CREATE INDEX cc_destinations_app ON cc_destinations(app_guid);
CREATE TABLE cc_tasks (
  guid TEXT PRIMARY KEY,
  app_guid TEXT NOT NULL REFERENCES cc_apps(guid) ON DELETE CASCADE,
  name TEXT NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, sequence_id INTEGER NOT NULL,
  memory_in_mb INTEGER NOT NULL, disk_in_mb INTEGER NOT NULL, droplet_guid TEXT NOT NULL,
  failure_reason TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (app_guid, sequence_id)
);
CREATE TABLE cc_audit_events (
  guid TEXT PRIMARY KEY, type TEXT NOT NULL,
  actor_guid TEXT NOT NULL, actor_type TEXT NOT NULL, actor_name TEXT NOT NULL,
  target_guid TEXT NOT NULL, target_type TEXT NOT NULL, target_name TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}', space_guid TEXT NOT NULL DEFAULT '', organization_guid TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX cc_audit_events_target ON cc_audit_events(target_guid, seq);
CREATE TABLE cc_jobs (
  guid TEXT PRIMARY KEY, operation TEXT NOT NULL, state TEXT NOT NULL,
  errors TEXT NOT NULL DEFAULT '[]', warnings TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
`,
};
