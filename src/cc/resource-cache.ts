import type { CcDeps } from "./deps.ts";

/**
 * Files seen in earlier uploads, keyed by sha1 (what the CLI's resource
 * matching sends), content in the BlobStore. `cf push` asks which files we
 * know (`POST /v3/resource_matches`) and leaves those out of the zip.
 */
export interface CachedResource {
  sha1: string;
  size: number;
  blob_digest: string;
}

export function sha1Hex(data: Uint8Array): string {
  return new Bun.CryptoHasher("sha1").update(data).digest("hex");
}

export function lookupResource(deps: Pick<CcDeps, "db" | "blobs">, sha1: string): CachedResource | null {
  const row = deps.db.query("SELECT sha1, size, blob_digest FROM cc_resource_cache WHERE sha1 = ?").get(sha1.toLowerCase()) as CachedResource | null;
  // A blob removed behind our back is a miss, not an error: the CLI then uploads the file.
  return row && deps.blobs.has(row.blob_digest) ? row : null;
}

export async function rememberResource(deps: Pick<CcDeps, "db" | "blobs" | "stamp">, data: Uint8Array): Promise<void> {
  const sha1 = sha1Hex(data);
  if (lookupResource(deps, sha1)) return;
  const { digest } = await deps.blobs.putBytes(data);
  deps.db.query("INSERT OR REPLACE INTO cc_resource_cache (sha1, size, blob_digest, created_at) VALUES (?, ?, ?, ?)").run(sha1, data.byteLength, digest, deps.stamp());
}

/** Remembers a file whose sha1 and size are known, streaming its content into the blob store. */
export async function rememberResourceStream(deps: Pick<CcDeps, "db" | "blobs" | "stamp">, sha1: string, size: number, content: AsyncIterable<Uint8Array>): Promise<void> {
  if (lookupResource(deps, sha1)) return;
  const { digest } = await deps.blobs.put(content);
  deps.db.query("INSERT OR REPLACE INTO cc_resource_cache (sha1, size, blob_digest, created_at) VALUES (?, ?, ?, ?)").run(sha1, size, digest, deps.stamp());
}
