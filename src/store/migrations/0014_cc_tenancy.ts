/**
 * Tenancy in the embedded Cloud Controller (src/cc, issue 11): org and
 * space roles; org and space quotas (a NULL limit is unlimited, as CF
 * renders it; an org without a quota row uses the seeded "default" one);
 * isolation segments, entitled to orgs, an org's default and a space's
 * own; a process records the segment it was started in (its placement tag
 * until the next restart, as in CF). A role row names one user and either an org (organization_*)
 * or a space (space_*); the indexes serve the authorization subqueries that
 * filter every list (src/cc/authz.ts) by the caller's user_guid.
 */
export default {
  version: 14,
  name: "cc_tenancy",
  sql: `
CREATE TABLE cc_roles (
  guid TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  user_guid TEXT NOT NULL,
  org_guid TEXT REFERENCES cc_orgs(guid) ON DELETE CASCADE,
  space_guid TEXT REFERENCES cc_spaces(guid) ON DELETE CASCADE,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
-- NULLs are distinct in a plain UNIQUE: the expression index makes one role per (type, user, org or space).
CREATE UNIQUE INDEX cc_roles_unique ON cc_roles(type, user_guid, IFNULL(org_guid, ''), IFNULL(space_guid, ''));
CREATE INDEX cc_roles_user ON cc_roles(user_guid, type);
CREATE INDEX cc_roles_org ON cc_roles(org_guid);
CREATE INDEX cc_roles_space ON cc_roles(space_guid);
-- /v3/apps pages in SQL (list.ts sqlList): the default and the name order walk an index instead of sorting every app.
CREATE INDEX cc_apps_created ON cc_apps(created_at);
CREATE INDEX cc_apps_name ON cc_apps(name);
CREATE INDEX cc_routes_created ON cc_routes(created_at);
CREATE INDEX cc_routes_space ON cc_routes(space_guid);
CREATE INDEX cc_audit_events_seq ON cc_audit_events(seq);
CREATE TABLE cc_org_quotas (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  total_memory_in_mb INTEGER, per_process_memory_in_mb INTEGER, total_instances INTEGER, per_app_tasks INTEGER,
  total_service_instances INTEGER, total_routes INTEGER, total_reserved_ports INTEGER, total_domains INTEGER,
  paid_services_allowed INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE cc_space_quotas (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL,
  org_guid TEXT NOT NULL REFERENCES cc_orgs(guid) ON DELETE CASCADE,
  total_memory_in_mb INTEGER, per_process_memory_in_mb INTEGER, total_instances INTEGER, per_app_tasks INTEGER,
  total_service_instances INTEGER, total_routes INTEGER, total_reserved_ports INTEGER,
  paid_services_allowed INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (org_guid, name)
);
ALTER TABLE cc_orgs ADD COLUMN quota_guid TEXT REFERENCES cc_org_quotas(guid);
CREATE TABLE cc_isolation_segments (
  guid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE cc_isolation_segment_orgs (
  segment_guid TEXT NOT NULL REFERENCES cc_isolation_segments(guid) ON DELETE CASCADE,
  org_guid TEXT NOT NULL REFERENCES cc_orgs(guid) ON DELETE CASCADE,
  PRIMARY KEY (segment_guid, org_guid)
);
ALTER TABLE cc_orgs ADD COLUMN default_isolation_segment_guid TEXT REFERENCES cc_isolation_segments(guid);
ALTER TABLE cc_spaces ADD COLUMN isolation_segment_guid TEXT REFERENCES cc_isolation_segments(guid);
ALTER TABLE cc_processes ADD COLUMN isolation_segment TEXT;
ALTER TABLE cc_spaces ADD COLUMN space_quota_guid TEXT REFERENCES cc_space_quotas(guid) ON DELETE SET NULL;
`,
};
