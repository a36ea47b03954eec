/**
 * CF V3 metadata (labels and annotations) on the Cloud Controller's
 * resources that carry it: JSON objects of string values, merged on PATCH
 * (src/cc/metadata.ts). App and space annotations also reach the desired
 * LRPs as `user_defined_annotations` (scheduling hints on Kubernetes).
 */
const tables = ["cc_orgs", "cc_spaces", "cc_apps", "cc_processes", "cc_routes"];

export default {
  version: 8,
  name: "cc_metadata",
  sql: tables
    .map((t) => `ALTER TABLE ${t} ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';\nALTER TABLE ${t} ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';\n`)
    .join(""),
};
