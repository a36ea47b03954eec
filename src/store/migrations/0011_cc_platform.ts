/**
 * Platform resources of the embedded Cloud Controller (src/cc): feature flags
 * an admin changed (the others keep CF's defaults), the running and staging
 * environment variable groups, private domains (a domain with an owning
 * org; shared domains keep org_guid NULL), and app usage events as billing
 * tools read them (`GET /v3/app_usage_events`, CF's states STARTED, STOPPED,
 * BUILDPACK_SET, TASK_STARTED, TASK_STOPPED).
 */
export default {
  version: 11,
  name: "cc_platform",
  sql: `
CREATE TABLE cc_feature_flags (
  name TEXT PRIMARY KEY, enabled INTEGER NOT NULL, custom_error_message TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE cc_env_var_groups (
  name TEXT PRIMARY KEY CHECK (name IN ('running', 'staging')), vars TEXT NOT NULL DEFAULT '{}', updated_at TEXT NOT NULL
);
ALTER TABLE cc_domains ADD COLUMN org_guid TEXT REFERENCES cc_orgs(guid) ON DELETE CASCADE;
CREATE TABLE cc_app_usage_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT NOT NULL UNIQUE, state TEXT NOT NULL, previous_state TEXT,
  app_guid TEXT NOT NULL, app_name TEXT NOT NULL, process_guid TEXT, process_type TEXT,
  instance_count INTEGER, previous_instance_count INTEGER, memory_in_mb_per_instance INTEGER, previous_memory_in_mb_per_instance INTEGER,
  space_guid TEXT NOT NULL, space_name TEXT NOT NULL, organization_guid TEXT NOT NULL, organization_name TEXT NOT NULL,
  buildpack_guid TEXT, buildpack_name TEXT, task_guid TEXT, task_name TEXT, parent_app_guid TEXT, parent_app_name TEXT,
  created_at TEXT NOT NULL
);
`,
};
