import type { Database } from "bun:sqlite";
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from "node:fs";
import type { BlobStore } from "../store/index.ts";
import type { LayerRef, StackImage } from "./compose.ts";
import { RegistryError } from "./errors.ts";
import { storeLayer } from "./layer-store.ts";
import { looksLikeOciLayout, readLayoutImage, removeDir, unpackLayout } from "./oci-layout.ts";

const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

export interface StackSummary {
  name: string;
  os: string;
  architecture: string;
  source: "rootfs" | "oci-layout";
  layers: number;
  bytes: number;
  images: number;
  created_at: string;
  updated_at: string;
}

export function assertStackName(name: string): void {
  if (!STACK_NAME.test(name)) throw new RegistryError(`invalid stack name ${JSON.stringify(name)} (letters, digits, . _ -; at most 63)`);
}

function isGzip(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export const goArch = (a: string = process.arch) => ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" })[a] ?? a;

/** Reads a stack's layers (stored once) into the shape the composer wants. */
export function loadStack(db: Database, name: string): StackImage | null {
  const row = db.query("SELECT name, os, architecture, base_config FROM registry_stacks WHERE name = ?").get(name) as
    | { name: string; os: string; architecture: string; base_config: string }
    | null;
  if (!row) return null;
  const layers = (
    db.query("SELECT digest, diff_id, size, media_type FROM registry_stack_layers WHERE stack = ? ORDER BY position").all(name) as {
      digest: string;
      diff_id: string;
      size: number;
      media_type: string;
    }[]
  ).map((l): LayerRef => ({ digest: l.digest, diffId: l.diff_id, size: l.size, mediaType: l.media_type }));
  return { name: row.name, os: row.os, architecture: row.architecture, baseConfig: JSON.parse(row.base_config) as Record<string, unknown>, layers };
}

/**
 * Imports a stack from a rootfs tarball (plain: compressed once into one
 * layer; gzipped: kept as that layer) or an OCI image layout tarball (each
 * layer verified against its digest and diff ID). Every tar entry is checked
 * for absolute paths and `..`; a refused import stores nothing new.
 */
export async function importStackFile(db: Database, blobs: BlobStore, name: string, file: string): Promise<{ source: StackSummary["source"]; image: Omit<StackImage, "name"> }> {
  assertStackName(name);
  if (!existsSync(file) || !statSync(file).isFile()) throw new RegistryError(`stack file ${file} does not exist`);
  const gzip = isGzip(file);
  if (await looksLikeOciLayout(file, gzip)) {
    const dir = blobs.tempPath("oci-layout");
    try {
      await unpackLayout(file, gzip, dir);
      const image = readLayoutImage(dir, goArch());
      const layers: LayerRef[] = [];
      for (const l of image.layers) {
        if (!existsSync(l.path)) throw new RegistryError(`OCI layout: layer ${l.digest} is missing from the archive`);
        const stored = await storeLayer(blobs, createReadStream(l.path, { highWaterMark: 1 << 20 }), { input: l.gzip ? "gzip" : "tar", expectedDigest: l.digest });
        if (stored.diffId !== l.diffId) throw new RegistryError(`OCI layout: layer ${l.digest} does not match its diff ID ${l.diffId}`);
        layers.push({ digest: stored.digest, diffId: stored.diffId, size: stored.size, mediaType: l.mediaType });
      }
      return { source: "oci-layout", image: { os: image.os, architecture: image.architecture, baseConfig: image.baseConfig, layers } };
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      if ((err as Error).name === "DigestMismatchError") throw new RegistryError(`OCI layout: ${(err as Error).message}`, { cause: err });
      throw new RegistryError(`stack file is not a valid OCI layout tarball: ${(err as Error).message}`, { cause: err });
    } finally {
      removeDir(dir);
    }
  }
  const stored = await storeLayer(blobs, createReadStream(file, { highWaterMark: 1 << 20 }), gzip ? { input: "gzip" } : { input: "tar", compress: true });
  return { source: "rootfs", image: { os: "linux", architecture: goArch(), baseConfig: {}, layers: [stored] } };
}

/** Replaces a stack's record and layers in one transaction. */
export function saveStack(db: Database, name: string, source: StackSummary["source"], image: Omit<StackImage, "name">): void {
  const now = new Date().toISOString();
  db.transaction(() => {
    db.query(
      `INSERT INTO registry_stacks (name, os, architecture, base_config, source, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
       ON CONFLICT (name) DO UPDATE SET os = excluded.os, architecture = excluded.architecture, base_config = excluded.base_config, source = excluded.source, updated_at = excluded.updated_at`,
    ).run(name, image.os, image.architecture, JSON.stringify(image.baseConfig), source, now);
    db.query("DELETE FROM registry_stack_layers WHERE stack = ?").run(name);
    const ins = db.query("INSERT INTO registry_stack_layers (stack, position, digest, diff_id, size, media_type) VALUES (?, ?, ?, ?, ?, ?)");
    image.layers.forEach((l, i) => ins.run(name, i, l.digest, l.diffId, l.size, l.mediaType));
  }).immediate();
}

export function listStacks(db: Database): StackSummary[] {
  return db
    .query(
      `SELECT s.name, s.os, s.architecture, s.source, s.created_at, s.updated_at,
              (SELECT COUNT(*) FROM registry_stack_layers l WHERE l.stack = s.name) AS layers,
              (SELECT COALESCE(SUM(size), 0) FROM registry_stack_layers l WHERE l.stack = s.name) AS bytes,
              (SELECT COUNT(*) FROM registry_droplet_images d WHERE d.stack = s.name) AS images
       FROM registry_stacks s ORDER BY s.name`,
    )
    .all() as StackSummary[];
}

/** Deletes a stack no droplet image uses; its layers go at the next GC. */
export function deleteStack(db: Database, name: string): void {
  assertStackName(name);
  const images = (db.query("SELECT COUNT(*) AS n FROM registry_droplet_images WHERE stack = ?").get(name) as { n: number }).n;
  if (!db.query("SELECT 1 FROM registry_stacks WHERE name = ?").get(name)) throw new RegistryError(`stack ${name} not found`);
  if (images > 0) throw new RegistryError(`stack ${name} is used by ${images} droplet image(s); re-import it instead, or delete those images first`);
  db.query("DELETE FROM registry_stacks WHERE name = ?").run(name);
}
