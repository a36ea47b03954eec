/**
 * Tables of the local OPI backend: what is desired (LRPs, tasks) and which
 * process groups run it, so a restarted appliance re-adopts live processes,
 * restarts what died and kills what is no longer wanted.
 */
export default {
  version: 4,
  name: "opi_local",
  sql: `
CREATE TABLE opi_local_lrps (
  process_guid TEXT PRIMARY KEY,
  lrp TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE opi_local_processes (
  guid TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('instance', 'task')),
  owner TEXT NOT NULL,
  idx INTEGER NOT NULL DEFAULT 0,
  pid INTEGER NOT NULL,
  pgid INTEGER NOT NULL,
  start_ticks TEXT NOT NULL,
  log TEXT NOT NULL,
  ports TEXT NOT NULL DEFAULT '[]',
  cell TEXT NOT NULL DEFAULT '',
  crash_count INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL
);
CREATE INDEX opi_local_processes_owner ON opi_local_processes (owner, idx);
CREATE TABLE opi_local_tasks (
  guid TEXT PRIMARY KEY,
  task TEXT NOT NULL,
  state TEXT NOT NULL,
  failure_reason TEXT NOT NULL DEFAULT '',
  exit_code INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  created_at INTEGER NOT NULL
);
`,
};
