import type { Database } from "bun:sqlite";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BlobStore } from "../store/index.ts";
import type { RegistryMetadata } from "./metadata.ts";
import type { Uploads } from "./uploads.ts";

export interface GcResult {
  blobsRemoved: number;
  bytesFreed: number;
  uploadsExpired: number;
  tempFilesRemoved: number;
}

export interface GcDeps {
  db: Database;
  meta: RegistryMetadata;
  blobs: BlobStore;
  uploads: Uploads;
  /** Droplets live in the appliance's blob store; cached droplet layers of vanished droplets are dropped. */
  dropletExists: (hash: string) => boolean;
  graceMs: number;
  uploadExpiryMs: number;
  now?: () => number;
}

/**
 * Mark and sweep over the registry's own blob store. A blob goes only when no
 * manifest, stack or droplet-layer cache row references it AND it was not
 * written or touched (pushers HEAD a blob before referencing it) within the
 * grace period. Each delete re-checks inside a write transaction, which
 * serialises with manifest PUTs (their blob check runs in one too), across
 * processes: a manifest either commits first and keeps the blob, or finds it
 * gone and is refused with MANIFEST_BLOB_UNKNOWN, never a dangling reference.
 */
export function collectGarbage(d: GcDeps): GcResult {
  const now = (d.now ?? Date.now)();
  const res: GcResult = { blobsRemoved: 0, bytesFreed: 0, uploadsExpired: d.uploads.expire(d.uploadExpiryMs), tempFilesRemoved: 0 };

  for (const name of readdirSync(d.blobs.tmpDir)) {
    const path = join(d.blobs.tmpDir, name);
    try {
      if (now - statSync(path).mtimeMs < d.uploadExpiryMs || d.uploads.isUploadFile(name)) continue;
      rmSync(path, { recursive: true, force: true });
      res.tempFilesRemoved++;
    } catch {
      // Vanished while we looked: someone finished with it.
    }
  }

  const layers = d.db.query("SELECT droplet_hash FROM registry_droplet_layers").all() as { droplet_hash: string }[];
  for (const { droplet_hash } of layers) {
    const used = d.db.query("SELECT 1 FROM registry_droplet_images WHERE droplet_hash = ? LIMIT 1").get(droplet_hash);
    if (!used && !d.dropletExists(droplet_hash)) d.db.query("DELETE FROM registry_droplet_layers WHERE droplet_hash = ?").run(droplet_hash);
  }

  const sweep = d.db.transaction((digest: string) => {
    if (d.meta.blobReferenced(digest)) return;
    const path = d.blobs.path(digest);
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (now - st.mtimeMs < d.graceMs) return;
    rmSync(path, { force: true });
    res.blobsRemoved++;
    res.bytesFreed += st.size;
  });
  for (const digest of [...d.blobs.list()]) {
    if (d.meta.blobReferenced(digest)) continue;
    sweep.immediate(digest);
  }
  return res;
}
