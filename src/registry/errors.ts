/**
 * Errors at the registry's HTTP edge, rendered as the distribution spec's
 * `{"errors":[{"code","message","detail"}]}` body with the matching status.
 */
export type OciErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOO_MANY_REQUESTS"
  | "UNKNOWN";

export class OciError extends Error {
  override name = "OciError";
  constructor(
    readonly code: OciErrorCode,
    message: string,
    readonly status: number,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toResponse(extraHeaders: Record<string, string> = {}): Response {
    const body = JSON.stringify({ errors: [{ code: this.code, message: this.message, detail: this.detail ?? null }] });
    const bytes = new TextEncoder().encode(body);
    return new Response(bytes, {
      status: this.status,
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        // Explicit, so a HEAD (answered by hono from the GET route without the body) still reports the true length.
        "Content-Length": String(bytes.byteLength),
        "Docker-Distribution-API-Version": "registry/2.0",
        ...this.headers,
        ...extraHeaders,
      },
    });
  }
}

/** A stack or droplet that cannot be imported or composed; one line for the CLI or caller. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

export const blobUnknown = (digest: string) => new OciError("BLOB_UNKNOWN", "blob unknown to registry", 404, { digest });
export const manifestUnknown = (reference: string) => new OciError("MANIFEST_UNKNOWN", "manifest unknown", 404, { reference });
export const uploadUnknown = (uuid: string) => new OciError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", 404, { uuid });
export const nameUnknown = (name: string) => new OciError("NAME_UNKNOWN", "repository name not known to registry", 404, { name });
export const digestInvalid = (message: string, detail?: unknown) => new OciError("DIGEST_INVALID", message, 400, detail);
export const manifestInvalid = (message: string, detail?: unknown, status = 400) => new OciError("MANIFEST_INVALID", message, status, detail);
