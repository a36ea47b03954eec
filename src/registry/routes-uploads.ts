import { assertDigest } from "../store/index.ts";
import { OciError } from "./errors.ts";
import { API_VERSION, type RegistryRequest } from "./http-common.ts";
import type { UploadSession } from "./uploads.ts";

function sessionHeaders(r: RegistryRequest, s: UploadSession): Record<string, string> {
  return {
    ...API_VERSION,
    Location: `/v2/${r.name}/blobs/uploads/${s.uuid}`,
    Range: `0-${Math.max(0, s.size - 1)}`,
    "Docker-Upload-UUID": s.uuid,
    "Content-Length": "0",
  };
}

function created(r: RegistryRequest, digest: string): Response {
  return new Response(null, { status: 201, headers: { ...API_VERSION, Location: `/v2/${r.name}/blobs/${digest}`, "Docker-Content-Digest": digest, "Content-Length": "0" } });
}

function contentRange(req: Request): { start: number; end: number } | undefined {
  const raw = req.headers.get("content-range");
  if (!raw) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(raw.trim());
  if (!m || Number(m[1]) > Number(m[2])) throw new OciError("BLOB_UPLOAD_INVALID", "invalid Content-Range", 416, { "content-range": raw });
  return { start: Number(m[1]), end: Number(m[2]) };
}

function contentLength(req: Request): number | undefined {
  const raw = req.headers.get("content-length");
  return raw === null ? undefined : Number(raw);
}

function digestParam(url: URL): string {
  const d = url.searchParams.get("digest");
  if (!d) throw new OciError("DIGEST_INVALID", "the digest query parameter is required", 400);
  assertDigest(d);
  return d;
}

/**
 * `POST /v2/<name>/blobs/uploads/`: cross-repository mount (`?mount=&from=`),
 * monolithic upload (`?digest=` with the body), or a new resumable session.
 * `mayMountFrom` says whether the caller may read the `from` repository.
 */
export async function startUpload(r: RegistryRequest, mayMountFrom: (from: string) => Promise<boolean>): Promise<Response> {
  const { registry, url } = r;
  const mount = url.searchParams.get("mount");
  if (mount) {
    assertDigest(mount);
    const from = url.searchParams.get("from");
    // Blobs are shared across repositories, so a mount only needs read access to `from`.
    if (registry.blobs.has(mount) && (from === null || (await mayMountFrom(from)))) {
      registry.touchBlob(mount);
      return created(r, mount);
    }
  } else if (url.searchParams.has("digest")) {
    const digest = digestParam(url);
    const body = r.req.body ?? (async function* () {})();
    const limit = registry.config.maxUploadBytes;
    if ((contentLength(r.req) ?? 0) > limit) throw new OciError("SIZE_INVALID", `upload exceeds the size limit of ${limit} bytes`, 413, { limit });
    const put = await registry.blobs.put(body, { expectedDigest: digest, maxBytes: limit });
    return created(r, put.digest);
  }
  const session = registry.uploads.start(r.name);
  return new Response(null, { status: 202, headers: sessionHeaders(r, session) });
}

/** `PATCH /v2/<name>/blobs/uploads/<uuid>`: append a chunk (in order; 416 otherwise). */
export async function patchUpload(r: RegistryRequest, uuid: string): Promise<Response> {
  const { uploads } = r.registry;
  const session = uploads.get(r.name, uuid);
  const next = await uploads.append(session, r.req.body, contentRange(r.req), contentLength(r.req));
  return new Response(null, { status: 202, headers: sessionHeaders(r, next) });
}

/** `PUT /v2/<name>/blobs/uploads/<uuid>?digest=`: optional last chunk, then verify and publish. */
export async function finishUpload(r: RegistryRequest, uuid: string): Promise<Response> {
  const { uploads } = r.registry;
  let session = uploads.get(r.name, uuid);
  const digest = digestParam(r.url);
  const len = contentLength(r.req);
  if (r.req.body && len !== 0) session = await uploads.append(session, r.req.body, contentRange(r.req), len);
  const put = await uploads.finish(session, digest);
  return created(r, put.digest);
}

/** `GET /v2/<name>/blobs/uploads/<uuid>`: how much has arrived. */
export function uploadStatus(r: RegistryRequest, uuid: string): Response {
  const session = r.registry.uploads.get(r.name, uuid);
  return new Response(null, { status: 204, headers: sessionHeaders(r, session) });
}

/** `DELETE /v2/<name>/blobs/uploads/<uuid>`: cancel. */
export function cancelUpload(r: RegistryRequest, uuid: string): Response {
  const { uploads } = r.registry;
  uploads.cancel(uploads.get(r.name, uuid));
  return new Response(null, { status: 204, headers: API_VERSION });
}
