import type { Database, Statement } from "bun:sqlite";
import type { ParsedManifest } from "./manifest.ts";

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  content: Uint8Array;
}

const CACHE_MAX_ENTRIES = 2048;
const CACHE_MAX_BYTES = 256 * 1024;

/**
 * The registry's SQLite records: repositories, manifests, tags, references and
 * uploads. Manifest reads are one indexed lookup, then served from a small
 * in-memory cache that is dropped whenever any connection (e.g. a CLI
 * `stack import` in another process) commits a change.
 */
export class RegistryMetadata {
  private readonly cache = new Map<string, ManifestRecord>();
  private seenVersion = -1;
  private readonly q: {
    dataVersion: Statement<{ data_version: number }, []>;
    byTag: Statement<{ digest: string; media_type: string; content: Uint8Array }, [string, string]>;
    byDigest: Statement<{ digest: string; media_type: string; content: Uint8Array }, [string, string]>;
  };

  constructor(readonly db: Database) {
    this.q = {
      dataVersion: db.query("PRAGMA data_version"),
      byTag: db.query(
        "SELECT m.digest, m.media_type, m.content FROM registry_tags t JOIN registry_manifests m ON m.repository = t.repository AND m.digest = t.digest WHERE t.repository = ? AND t.tag = ?",
      ),
      byDigest: db.query("SELECT digest, media_type, content FROM registry_manifests WHERE repository = ? AND digest = ?"),
    };
  }

  /** Forget cached manifests; called after every registry write on this connection. */
  invalidate(): void {
    this.cache.clear();
  }

  getManifest(repository: string, reference: { tag: string } | { digest: string }): ManifestRecord | null {
    const version = this.q.dataVersion.get()!.data_version;
    if (version !== this.seenVersion) {
      this.cache.clear();
      this.seenVersion = version;
    }
    const key = "tag" in reference ? `${repository}:${reference.tag}` : `${repository}@${reference.digest}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const row = "tag" in reference ? this.q.byTag.get(repository, reference.tag) : this.q.byDigest.get(repository, reference.digest);
    if (!row) return null;
    const rec: ManifestRecord = { digest: row.digest, mediaType: row.media_type, content: new Uint8Array(row.content) };
    if (rec.content.byteLength <= CACHE_MAX_BYTES) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
      this.cache.set(key, rec);
    }
    return rec;
  }

  /** Which of `digests` are manifests in `repository`. */
  missingManifests(repository: string, digests: string[]): string[] {
    const q = this.db.query<{ n: number }, [string, string]>("SELECT COUNT(*) AS n FROM registry_manifests WHERE repository = ? AND digest = ?");
    return digests.filter((d) => q.get(repository, d)!.n === 0);
  }

  /** Records a manifest, its references and optional tag in one transaction (the caller checks blobs inside `check`). */
  putManifest(repository: string, digest: string, content: Uint8Array, parsed: ParsedManifest, tag: string | undefined, check: () => void): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      check();
      this.db.query("INSERT OR IGNORE INTO registry_repositories (name, created_at) VALUES (?, ?)").run(repository, now);
      this.db
        .query(
          "INSERT INTO registry_manifests (repository, digest, media_type, size, content, subject, artifact_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository, digest) DO NOTHING",
        )
        .run(repository, digest, parsed.mediaType, content.byteLength, content, parsed.subject ?? null, parsed.artifactType ?? null, now);
      const ref = this.db.query("INSERT OR IGNORE INTO registry_manifest_refs (repository, manifest_digest, ref_digest, kind) VALUES (?, ?, ?, ?)");
      for (const b of parsed.blobs) ref.run(repository, digest, b, "blob");
      for (const m of parsed.manifests) ref.run(repository, digest, m, "manifest");
      if (tag !== undefined) {
        this.db
          .query("INSERT INTO registry_tags (repository, tag, digest, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at")
          .run(repository, tag, digest, now);
      }
    }).immediate();
    this.invalidate();
  }

  /** Deletes a manifest by digest (and the tags pointing at it); false when absent. */
  deleteManifest(repository: string, digest: string): boolean {
    const changes = this.db.query("DELETE FROM registry_manifests WHERE repository = ? AND digest = ?").run(repository, digest).changes;
    this.invalidate();
    return changes > 0;
  }

  deleteTag(repository: string, tag: string): boolean {
    const changes = this.db.query("DELETE FROM registry_tags WHERE repository = ? AND tag = ?").run(repository, tag).changes;
    this.invalidate();
    return changes > 0;
  }

  /** True when an index in `repository` still lists `digest` as a child. */
  isChildOfIndex(repository: string, digest: string): boolean {
    return !!this.db.query("SELECT 1 FROM registry_manifest_refs WHERE repository = ? AND ref_digest = ? AND kind = 'manifest' LIMIT 1").get(repository, digest);
  }

  repositoryExists(repository: string): boolean {
    return !!this.db.query("SELECT 1 FROM registry_manifests WHERE repository = ? LIMIT 1").get(repository);
  }

  /** Tags after `last` in lexical order, at most `n`. */
  tags(repository: string, n: number, last: string | undefined): string[] {
    return (
      this.db
        .query("SELECT tag FROM registry_tags WHERE repository = ? AND tag > ? ORDER BY tag LIMIT ?")
        .all(repository, last ?? "", n) as { tag: string }[]
    ).map((r) => r.tag);
  }

  /** Repositories holding at least one manifest, after `last`, at most `n`. */
  catalog(n: number, last: string | undefined): string[] {
    return (
      this.db
        .query("SELECT name FROM registry_repositories r WHERE name > ? AND EXISTS (SELECT 1 FROM registry_manifests m WHERE m.repository = r.name) ORDER BY name LIMIT ?")
        .all(last ?? "", n) as { name: string }[]
    ).map((r) => r.name);
  }

  /** Manifests in `repository` whose subject is `digest` (the referrers API). */
  referrers(repository: string, digest: string): { digest: string; mediaType: string; size: number; artifactType: string | null; content: Uint8Array }[] {
    return (
      this.db
        .query("SELECT digest, media_type, size, artifact_type, content FROM registry_manifests WHERE repository = ? AND subject = ? ORDER BY created_at, digest")
        .all(repository, digest) as { digest: string; media_type: string; size: number; artifact_type: string | null; content: Uint8Array }[]
    ).map((r) => ({ digest: r.digest, mediaType: r.media_type, size: r.size, artifactType: r.artifact_type, content: r.content }));
  }

  /** True when any manifest, stack or cached droplet layer still needs the blob. */
  blobReferenced(digest: string): boolean {
    return !!this.db
      .query(
        `SELECT 1 WHERE EXISTS (SELECT 1 FROM registry_manifest_refs WHERE ref_digest = ?1 AND kind = 'blob')
            OR EXISTS (SELECT 1 FROM registry_stack_layers WHERE digest = ?1)
            OR EXISTS (SELECT 1 FROM registry_droplet_layers WHERE digest = ?1)`,
      )
      .get(digest);
  }
}
