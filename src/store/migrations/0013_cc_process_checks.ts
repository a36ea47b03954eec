/**
 * Inputs the CF API takes and now honours instead of dropping (issue 22):
 * per-process log rate limit, liveness check interval and the readiness
 * check (type `process` = none, CF's default); per-task log rate limit;
 * per-route options (`loadbalancing`) as JSON; task, build, package and domain metadata. Version 13 follows 12.
 */
export default {
  version: 13,
  name: "cc_process_checks",
  sql: `
ALTER TABLE cc_processes ADD COLUMN log_rate_limit INTEGER NOT NULL DEFAULT -1;
ALTER TABLE cc_processes ADD COLUMN health_check_interval INTEGER;
ALTER TABLE cc_processes ADD COLUMN readiness_type TEXT NOT NULL DEFAULT 'process';
ALTER TABLE cc_processes ADD COLUMN readiness_endpoint TEXT;
ALTER TABLE cc_processes ADD COLUMN readiness_invocation_timeout INTEGER;
ALTER TABLE cc_processes ADD COLUMN readiness_interval INTEGER;
ALTER TABLE cc_tasks ADD COLUMN log_rate_limit INTEGER NOT NULL DEFAULT -1;
ALTER TABLE cc_routes ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_tasks ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_tasks ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_builds ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_builds ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_packages ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_packages ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_domains ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cc_domains ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';
`,
};
