import type { BodyLimit } from "../part/index.ts";

/**
 * What the one server checks before any part sees a request: one Host header,
 * a Host the API answers to, and a body no larger than its route allows.
 *
 * Body limits are enforced at the cause, for every route at once: a declared
 * Content-Length over the route's limit is refused before a byte is read (Bun
 * then closes the connection instead of draining it), and a chunked body is
 * counted as it arrives, failing the handler's read once it passes the limit.
 * Routes that no part names get DEFAULT_BODY_LIMIT, so a JSON endpoint can
 * never be made to buffer a gigabyte.
 */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The limit of the first rule matching the request, or the default. */
export function bodyLimitFor(rules: readonly BodyLimit[], method: string, path: string, fallback = DEFAULT_BODY_LIMIT): number {
  for (const r of rules) if ((r.method === "*" || r.method === method) && r.path.test(path)) return r.maxBytes;
  return fallback;
}

function errorResponse(path: string, status: 400 | 404 | 413, cfTitle: string, cfCode: number, ociCode: string, message: string): Response {
  // The registry's clients read OCI errors, everyone else CF V3 errors; both are {"errors": [...]}.
  const body = path.startsWith("/v2/") || path === "/v2" ? { errors: [{ code: ociCode, message, detail: null }] } : { errors: [{ code: cfCode, title: cfTitle, detail: message }] };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", connection: "close" } });
}

export function bodyTooLarge(path: string, maxBytes: number): Response {
  return errorResponse(path, 413, "CF-RequestEntityTooLarge", 10013, "SIZE_INVALID", `The request body may not be larger than ${maxBytes} bytes`);
}

/** A request whose body is counted as it is read; `exceeded` turns true once it passed its limit. */
export interface GuardedRequest {
  req: Request;
  exceeded: () => boolean;
}

/**
 * Applies `maxBytes` to a request's body: a Response (413, 400) when it can be
 * refused without reading, else the request to pass on (wrapped in a counting
 * stream when its length is not declared).
 */
export function limitBody(req: Request, path: string, maxBytes: number): Response | GuardedRequest {
  const declared = req.headers.get("content-length");
  if (declared !== null) {
    if (!/^\d{1,16}$/.test(declared.trim())) return errorResponse(path, 400, "CF-InvalidRequest", 10004, "SIZE_INVALID", "Content-Length is not a number");
    if (Number(declared) > maxBytes) return bodyTooLarge(path, maxBytes);
    // Bun never hands a handler more bytes than a declared length: nothing to count.
    return { req, exceeded: () => false };
  }
  if (!req.body) return { req, exceeded: () => false };
  let seen = 0;
  let over = false;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          over = true;
          ctl.error(new Error(`request body is larger than ${maxBytes} bytes`));
          return;
        }
        ctl.enqueue(chunk);
      },
    }),
  );
  return { req: new Request(req, { body: counted, duplex: "half" } as RequestInit), exceeded: () => over };
}

/** Lower-case host name of a Host header, without port or IPv6 brackets; null when malformed. */
export function hostName(header: string | null): string | null {
  if (!header) return null;
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(1, end) : null;
  }
  const colon = h.lastIndexOf(":");
  return colon >= 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h.includes(":") ? null : h;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const isLoopback = (h: string) => h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
const isWildcard = (h: string) => h === "0.0.0.0" || h === "::" || h === "";

/**
 * The Host names the API answers to (a DNS-rebinding page's Host is none of
 * them): the configured ones, the listening address, and the loopback forms
 * when listening on loopback. Null means any: a wildcard listener with no
 * names configured (in a pod, reached through Service names and pod IPs).
 */
export function apiHostNames(listenHost: string, configured: readonly string[]): Set<string> | null {
  const names = new Set(configured.map((n) => hostName(n) ?? n.toLowerCase()));
  const listen = listenHost.toLowerCase();
  if (isWildcard(listen)) {
    if (names.size === 0) return null;
    for (const n of LOOPBACK_NAMES) names.add(n);
    return names;
  }
  names.add(listen.replace(/^\[|\]$/g, ""));
  if (isLoopback(listen)) for (const n of LOOPBACK_NAMES) names.add(n);
  return names;
}

/** 400 for a request carrying several Host headers (Bun joins them with ", "), else null. */
export function duplicateHost(req: Request): Response | null {
  const host = req.headers.get("host");
  if (host !== null && host.includes(",")) return errorResponse(new URL(req.url).pathname, 400, "CF-InvalidRequest", 10004, "UNSUPPORTED", "The request has more than one Host header");
  return null;
}

/** 404 (CF error JSON) for a Host the API does not answer to, else null. */
export function unknownHost(req: Request, allowed: Set<string> | null, path: string): Response | null {
  if (!allowed) return null;
  const name = hostName(req.headers.get("host"));
  if (name !== null && (allowed.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name) && allowed.has("127.0.0.1"))) return null;
  return errorResponse(path, 404, "CF-NotFound", 10000, "NAME_UNKNOWN", "Unknown host");
}
