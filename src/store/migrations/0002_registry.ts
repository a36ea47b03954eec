/**
 * Registry tables: repositories, manifests (bytes kept inline, they are small
 * and read on every pull), tags, what each manifest references, in-flight
 * uploads, imported stacks and their layers, and the droplet images composed
 * from them (so a stack re-import can re-base every one).
 */
export default {
  version: 2,
  name: "registry",
  sql: `
CREATE TABLE registry_repositories (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE registry_manifests (
  repository TEXT NOT NULL REFERENCES registry_repositories(name) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  content BLOB NOT NULL,
  subject TEXT,
  artifact_type TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX registry_manifests_subject ON registry_manifests(repository, subject) WHERE subject IS NOT NULL;
CREATE TABLE registry_tags (
  repository TEXT NOT NULL,
  tag TEXT NOT NULL,
  digest TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (repository, tag),
  FOREIGN KEY (repository, digest) REFERENCES registry_manifests(repository, digest) ON DELETE CASCADE
);
CREATE INDEX registry_tags_digest ON registry_tags(repository, digest);
-- kind 'blob': config/layer in the blob store; kind 'manifest': child of an index in the same repository.
CREATE TABLE registry_manifest_refs (
  repository TEXT NOT NULL,
  manifest_digest TEXT NOT NULL,
  ref_digest TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
  PRIMARY KEY (repository, manifest_digest, ref_digest, kind),
  FOREIGN KEY (repository, manifest_digest) REFERENCES registry_manifests(repository, digest) ON DELETE CASCADE
);
CREATE INDEX registry_manifest_refs_ref ON registry_manifest_refs(ref_digest, kind);
CREATE TABLE registry_uploads (
  uuid TEXT PRIMARY KEY,
  repository TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE registry_stacks (
  name TEXT PRIMARY KEY,
  os TEXT NOT NULL,
  architecture TEXT NOT NULL,
  base_config TEXT NOT NULL DEFAULT '{}',
  source TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE registry_stack_layers (
  stack TEXT NOT NULL REFERENCES registry_stacks(name) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  digest TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  PRIMARY KEY (stack, position)
);
CREATE INDEX registry_stack_layers_digest ON registry_stack_layers(digest);
CREATE TABLE registry_droplet_layers (
  droplet_hash TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  start_command TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE registry_droplet_images (
  repository TEXT NOT NULL,
  droplet_hash TEXT NOT NULL,
  stack TEXT NOT NULL,
  start_command TEXT NOT NULL,
  manifest_digest TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (repository, droplet_hash)
);
CREATE INDEX registry_droplet_images_stack ON registry_droplet_images(stack);
`,
};
