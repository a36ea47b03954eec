/** App and staging log lines (log-cache's store), bounded per source. */
export default {
  version: 7,
  name: "logs",
  sql: `
CREATE TABLE log_lines (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  source_type TEXT NOT NULL,
  instance_id TEXT NOT NULL DEFAULT '',
  stream TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX log_lines_source_ts ON log_lines (source_id, timestamp);
`,
};
