import { manifestInvalid, manifestUnknown, OciError } from "./errors.ts";
import { API_VERSION, bodyOrHead, readBody, type RegistryRequest } from "./http-common.ts";
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, MediaType } from "./media-types.ts";
import { parseReference } from "./names.ts";

/** `GET|HEAD /v2/<name>/manifests/<reference>`: one indexed lookup, usually answered from memory. */
export function getManifest(r: RegistryRequest, reference: string): Response {
  const ref = parseReference(reference);
  const m = r.registry.meta.getManifest(r.name, ref);
  if (!m) throw manifestUnknown(reference);
  // Only manifest media types as Content-Type, whatever an older version recorded.
  const contentType = IMAGE_MANIFEST_TYPES.has(m.mediaType) || INDEX_TYPES.has(m.mediaType) ? m.mediaType : MediaType.ociManifest;
  const headers = { ...API_VERSION, "Content-Type": contentType, "Docker-Content-Digest": m.digest, ETag: `"${m.digest}"` };
  return bodyOrHead(r.req, 200, headers, m.content as Uint8Array<ArrayBuffer>, m.content.byteLength);
}

/** `PUT /v2/<name>/manifests/<reference>`: validated, every reference checked, recorded in one transaction. */
export async function putManifest(r: RegistryRequest, reference: string): Promise<Response> {
  const ref = parseReference(reference);
  const limit = r.registry.config.maxManifestBytes;
  const bytes = await readBody(r.req, limit, () => manifestInvalid(`manifest exceeds the size limit of ${limit} bytes`, { limit }, 413));
  if (bytes.byteLength === 0) throw manifestInvalid("manifest body is empty");
  if ("digest" in ref) {
    const actual = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    if (!ref.digest.startsWith("sha256:")) throw new OciError("DIGEST_INVALID", "unsupported digest algorithm (only sha256)", 400, { digest: ref.digest });
    if (actual !== ref.digest) throw new OciError("DIGEST_INVALID", "manifest content does not match the digest in the URL", 400, { expected: ref.digest, actual });
  }
  const { digest, subject } = r.registry.putManifest(r.name, bytes, r.req.headers.get("content-type"), "tag" in ref ? ref.tag : undefined);
  const headers: Record<string, string> = { ...API_VERSION, Location: `/v2/${r.name}/manifests/${digest}`, "Docker-Content-Digest": digest };
  if (subject) headers["OCI-Subject"] = subject;
  return new Response(null, { status: 201, headers });
}

/** `DELETE /v2/<name>/manifests/<reference>`: by digest removes the manifest and its tags; by tag removes only the tag. */
export function deleteManifest(r: RegistryRequest, reference: string): Response {
  const ref = parseReference(reference);
  const { meta } = r.registry;
  const gone = "tag" in ref ? meta.deleteTag(r.name, ref.tag) : meta.deleteManifest(r.name, ref.digest);
  if (!gone) throw manifestUnknown(reference);
  return new Response(null, { status: 202, headers: API_VERSION });
}
