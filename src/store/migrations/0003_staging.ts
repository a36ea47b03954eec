/** Tables of the staging part: the admin buildpack store (bits live in the blob store). */
export default {
  version: 3,
  name: "staging",
  sql: `
CREATE TABLE buildpacks (
  guid TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  position INTEGER NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  locked INTEGER NOT NULL DEFAULT 0,
  stack TEXT,
  blob_digest TEXT,
  filename TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX buildpacks_position ON buildpacks (position);
`,
};
