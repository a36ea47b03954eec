import { assertDigest } from "../store/index.ts";
import { blobUnknown, OciError } from "./errors.ts";
import { API_VERSION, bodyOrHead, type RegistryRequest } from "./http-common.ts";

const RANGE = /^bytes=(\d*)-(\d*)$/;

/** `GET|HEAD /v2/<name>/blobs/<digest>`: streamed straight from disk (sendfile), with single `Range`s. */
export function getBlob(r: RegistryRequest, digest: string): Response {
  assertDigest(digest);
  const { blobs } = r.registry;
  const size = blobs.size(digest);
  if (size === null) {
    // Some clients fetch manifests through the blobs endpoint.
    const m = r.registry.meta.getManifest(r.name, { digest });
    if (!m) throw blobUnknown(digest);
    const headers = { ...API_VERSION, "Content-Type": m.mediaType, "Docker-Content-Digest": digest, ETag: `"${digest}"` };
    return bodyOrHead(r.req, 200, headers, m.content as Uint8Array<ArrayBuffer>, m.content.byteLength);
  }
  if (r.req.method === "HEAD") r.registry.touchBlob(digest);
  const headers: Record<string, string> = {
    ...API_VERSION,
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest,
    "Accept-Ranges": "bytes",
    ETag: `"${digest}"`,
    "Cache-Control": "max-age=31536000",
  };
  const file = Bun.file(blobs.path(digest));
  const range = r.req.headers.get("range");
  if (!range) return bodyOrHead(r.req, 200, headers, file, size);
  const m = RANGE.exec(range.trim());
  let start: number;
  let end: number;
  if (m && (m[1] || m[2])) {
    if (m[1]) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    } else {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    }
  } else {
    start = -1;
    end = -1;
  }
  if (start < 0 || start > end || start >= size) {
    return new OciError("BLOB_UNKNOWN", "requested range not satisfiable", 416, { range, size }, { "Content-Range": `bytes */${size}` }).toResponse();
  }
  return bodyOrHead(r.req, 206, { ...headers, "Content-Range": `bytes ${start}-${end}/${size}` }, file.slice(start, end + 1), end - start + 1);
}

/** `DELETE /v2/<name>/blobs/<digest>`: only a blob nothing references any more. */
export function deleteBlob(r: RegistryRequest, digest: string): Response {
  assertDigest(digest);
  const { registry } = r;
  if (!registry.blobs.has(digest)) throw blobUnknown(digest);
  if (registry.meta.blobReferenced(digest)) {
    throw new OciError("UNSUPPORTED", "blob is still referenced by a manifest or stack; delete those first", 405, { digest });
  }
  registry.blobs.delete(digest);
  return new Response(null, { status: 202, headers: { ...API_VERSION, "Docker-Content-Digest": digest } });
}
