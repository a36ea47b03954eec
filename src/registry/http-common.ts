import { InvalidDigestError, DigestMismatchError, SizeLimitError } from "../store/index.ts";
import { OciError, RegistryError } from "./errors.ts";
import type { Registry } from "./registry.ts";

export const API_VERSION = { "Docker-Distribution-API-Version": "registry/2.0" } as const;

/** One registry request after routing: the repository it names and its parsed URL. */
export interface RegistryRequest {
  req: Request;
  url: URL;
  registry: Registry;
  name: string;
}

/**
 * A GET answer, or for HEAD the same headers with the true `Content-Length`
 * and no body. containerd resolves tags with `HEAD` and trusts that length;
 * hono serves HEAD by running the GET route and dropping the body, which
 * loses a computed length, so the header is always set explicitly.
 */
export function bodyOrHead(req: Request, status: number, headers: Record<string, string>, body: Uint8Array<ArrayBuffer> | Blob, length: number): Response {
  const h = { ...headers, "Content-Length": String(length) };
  if (req.method === "HEAD") return new Response(null, { status, headers: h });
  return new Response(body, { status, headers: h });
}

/** Maps store and registry errors to the distribution spec's error responses. */
export function toOciError(err: unknown): OciError {
  if (err instanceof OciError) return err;
  if (err instanceof InvalidDigestError) return new OciError("DIGEST_INVALID", err.message, 400, { digest: err.digest }, {}, { cause: err });
  if (err instanceof DigestMismatchError) return new OciError("DIGEST_INVALID", err.message, 400, { expected: err.expected, actual: err.actual }, {}, { cause: err });
  if (err instanceof SizeLimitError) return new OciError("SIZE_INVALID", err.message, 413, { limit: err.limit }, {}, { cause: err });
  if (err instanceof RegistryError) return new OciError("UNSUPPORTED", err.message, 400, null, {}, { cause: err });
  return new OciError("UNKNOWN", "internal registry error", 500, null, {}, { cause: err });
}

/** Reads a request body up to `limit` bytes, refusing more with 413. */
export async function readBody(req: Request, limit: number, tooBig: () => OciError): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > limit) throw tooBig();
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of req.body) {
    n += chunk.byteLength;
    if (n > limit) throw tooBig();
    chunks.push(chunk);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** Parses a non-negative integer query parameter (`n`); undefined when absent. */
export function intParam(url: URL, key: string): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === "") return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new OciError("UNSUPPORTED", `query parameter ${key} must be a non-negative integer`, 400, { [key]: raw });
  return Number(raw);
}
