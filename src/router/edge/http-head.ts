/**
 * HTTP/1.1 message heads as the edge reads them: one latin1 string scanned
 * once, the few fields the proxy acts on picked out as values, everything
 * else forwarded as the same string. No Headers objects and no string per
 * header: that allocation is what a proxy hop in JS pays for most.
 */
import type { Framing } from "./body-framing.ts";

export const HEAD_END = Buffer.from("\r\n\r\n");

/** Shared framings and empty lists: a request allocates only what it has. */
const NONE: Framing = Object.freeze({ kind: "none" });
const CHUNKED: Framing = Object.freeze({ kind: "chunked" });
const CLOSE: Framing = Object.freeze({ kind: "close" });
const EMPTY: string[] = Object.freeze([]) as unknown as string[];
const EMPTY_N: number[] = Object.freeze([]) as unknown as number[];
/** Longest head accepted (gorouter's default max_header_bytes is 1 MB; Bun.serve's 16 KB): 64 KB. */
export const MAX_HEAD_BYTES = 64 * 1024;

export class HeadError extends Error {
  override name = "HeadError";
}

export interface RequestHead {
  method: string;
  /** The request target as sent ("/path?query"), passed on unchanged. */
  target: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  /** The head as received (latin1, without CRLFCRLF). */
  head: string;
  /** Where the header lines start in `head` (after the request line's CRLF). */
  headersStart: number;
  /** Every byte of the head is ASCII (then it can be written as a string). */
  ascii: boolean;
  host: string;
  framing: Framing;
  keepAlive: boolean;
  /** An Upgrade request (WebSocket): the connection becomes a tunnel on 101. */
  upgrade: boolean;
  /** Header names listed in Connection (hop-by-hop for this message), lower case. */
  connectionTokens: string[];
  /** The Upgrade header's value ("websocket"). */
  upgradeValue: string;
  /**
   * [start, end) pairs of header lines in `head` the proxy replaces or must not
   * forward: hop-by-hop headers, X-Forwarded-*, X-Request-Start,
   * X-Vcap-Request-Id, X-CF-Instance*.
   */
  drop: number[];
  cookie: string;
  xForwardedFor: string;
  xForwardedProto: string;
  xForwardedHost: string;
  xRequestStart: string;
  cfAppInstance: string;
  referer: string;
  userAgent: string;
}

export interface ResponseHead {
  status: number;
  /** The head as received, status line and header lines, without the final CRLFCRLF (latin1). */
  head: string;
  /** Body framing for a response to `method` (HEAD, 1xx, 204 and 304 have none). */
  framing: Framing;
  keepAlive: boolean;
  connectionTokens: string[];
  /** Set-Cookie lines, whole (sticky sessions look at them). */
  setCookies: string[];
  /** Some line is hop-by-hop (Connection, Keep-Alive, Proxy-Connection or named in Connection): the head must be rebuilt. */
  hasHop: boolean;
}

/** Request headers the proxy drops or sets itself. */
const MANAGED = new Set([
  "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
  "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-start", "x-vcap-request-id",
  "x-cf-instanceid", "x-cf-instanceindex", "x-cf-applicationid",
]);

const NON_ASCII = /[^\x00-\x7f]/;

const LOWER_CACHE = new Map<string, string>();
/** Header names repeat endlessly; lower-casing each distinct spelling once saves an allocation per header. */
function lower(name: string): string {
  let l = LOWER_CACHE.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (LOWER_CACHE.size < 2048) LOWER_CACHE.set(name, l);
  }
  return l;
}

function tokens(v: string): string[] {
  return v.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
}

/** Header names the request parser looks at, by length, lower case. */
const KNOWN_BY_LENGTH: string[][] = [];
for (const n of [
  ...MANAGED, "host", "content-length", "transfer-encoding", "cookie", "x-cf-app-instance", "referer", "user-agent",
]) (KNOWN_BY_LENGTH[n.length] ??= []).push(n);

/** The known name `head[start, colon)` spells, case-insensitively, or "" (no substring is made). */
function knownName(head: string, start: number, colon: number): string {
  const list = KNOWN_BY_LENGTH[colon - start];
  if (!list) return "";
  const c0 = head.charCodeAt(start) | 32;
  for (const n of list) {
    if (n.charCodeAt(0) !== c0) continue;
    let k = 1;
    while (k < n.length && (head.charCodeAt(start + k) | 32) === n.charCodeAt(k)) k++;
    if (k === n.length) return n;
  }
  return "";
}

function valueAt(head: string, colon: number, end: number): string {
  let s = colon + 1;
  let e = end;
  while (s < e && (head.charCodeAt(s) === 32 || head.charCodeAt(s) === 9)) s++;
  while (e > s && (head.charCodeAt(e - 1) === 32 || head.charCodeAt(e - 1) === 9)) e--;
  return head.slice(s, e);
}

/**
 * Parses a request head (the bytes before CRLFCRLF, as latin1) in one scan,
 * without splitting it: the header block is forwarded as the same string,
 * minus the ranges in `drop`.
 */
export function parseRequestHead(head: string): RequestHead {
  const firstEnd = head.indexOf("\r\n");
  const lineEnd = firstEnd < 0 ? head.length : firstEnd;
  const sp1 = head.indexOf(" ");
  const sp2 = head.lastIndexOf(" ", lineEnd);
  if (sp1 <= 0 || sp2 <= sp1 || sp1 > lineEnd) throw new HeadError("malformed request line");
  const version = head.slice(sp2 + 1, lineEnd);
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new HeadError("unsupported HTTP version");
  const r: RequestHead = {
    method: head.slice(0, sp1),
    target: head.slice(sp1 + 1, sp2),
    version,
    head,
    headersStart: firstEnd < 0 ? head.length : firstEnd + 2,
    ascii: !NON_ASCII.test(head),
    host: "",
    framing: NONE,
    keepAlive: version === "HTTP/1.1",
    upgrade: false,
    connectionTokens: EMPTY,
    upgradeValue: "",
    drop: EMPTY_N,
    cookie: "",
    xForwardedFor: "",
    xForwardedProto: "",
    xForwardedHost: "",
    xRequestStart: "",
    cfAppInstance: "",
    referer: "",
    userAgent: "",
  };
  let length = -1;
  let chunked = false;
  let hasHost = false;
  let pos = r.headersStart;
  while (pos < head.length) {
    const start = pos;
    let end = head.indexOf("\r\n", start);
    if (end < 0) end = head.length;
    pos = end + 2;
    const c0 = head.charCodeAt(start);
    // Obsolete line folding (RFC 9112 5.2) is refused, as gorouter's Go server refuses it.
    if (c0 === 32 || c0 === 9) throw new HeadError("obsolete header line folding");
    const colon = head.indexOf(":", start);
    if (colon <= start || colon > end) throw new HeadError("malformed header line");
    const name = knownName(head, start, colon);
    if (name === "") continue;
    if (MANAGED.has(name)) (r.drop === EMPTY_N ? (r.drop = []) : r.drop).push(start, Math.min(pos, head.length));
    switch (name) {
      case "host":
        if (hasHost) throw new HeadError("more than one Host header");
        hasHost = true;
        r.host = valueAt(head, colon, end);
        break;
      case "content-length": {
        const v = valueAt(head, colon, end);
        if (!/^\d{1,15}$/.test(v) || (length >= 0 && Number(v) !== length)) throw new HeadError("invalid Content-Length");
        length = Number(v);
        break;
      }
      case "transfer-encoding":
        chunked = tokens(valueAt(head, colon, end)).at(-1) === "chunked";
        if (!chunked) throw new HeadError("unsupported Transfer-Encoding");
        break;
      case "connection":
        r.connectionTokens = r.connectionTokens.concat(tokens(valueAt(head, colon, end)));
        for (const t of r.connectionTokens) {
          if (t === "close") r.keepAlive = false;
          else if (t === "keep-alive") r.keepAlive = true;
        }
        break;
      case "upgrade":
        r.upgrade = true;
        r.upgradeValue = valueAt(head, colon, end);
        break;
      case "cookie":
        r.cookie = r.cookie ? `${r.cookie}; ${valueAt(head, colon, end)}` : valueAt(head, colon, end);
        break;
      case "x-forwarded-for":
        r.xForwardedFor = r.xForwardedFor ? `${r.xForwardedFor}, ${valueAt(head, colon, end)}` : valueAt(head, colon, end);
        break;
      case "x-forwarded-proto":
        r.xForwardedProto ||= valueAt(head, colon, end);
        break;
      case "x-forwarded-host":
        r.xForwardedHost ||= valueAt(head, colon, end);
        break;
      case "x-request-start":
        r.xRequestStart ||= valueAt(head, colon, end);
        break;
      case "x-cf-app-instance":
        r.cfAppInstance = valueAt(head, colon, end);
        break;
      case "referer":
        r.referer = valueAt(head, colon, end);
        break;
      case "user-agent":
        r.userAgent = valueAt(head, colon, end);
        break;
    }
  }
  // RFC 9112 6.3: chunked wins over (and with) Content-Length is a smuggling risk: refuse both at once.
  if (chunked && length >= 0) throw new HeadError("both Transfer-Encoding and Content-Length");
  if (version === "HTTP/1.1" && !hasHost) throw new HeadError("missing Host header");
  if (r.upgrade && !r.connectionTokens.includes("upgrade")) r.upgrade = false;
  // Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1).
  const extra = r.connectionTokens.length === 0 ? r.connectionTokens : r.connectionTokens.filter((t) => t !== "close" && t !== "keep-alive" && t !== "upgrade" && !MANAGED.has(t));
  if (extra.length > 0) {
    let p = r.headersStart;
    while (p < head.length) {
      const start = p;
      let end = head.indexOf("\r\n", start);
      if (end < 0) end = head.length;
      p = end + 2;
      if (extra.includes(head.slice(start, head.indexOf(":", start)).trim().toLowerCase())) (r.drop === EMPTY_N ? (r.drop = []) : r.drop).push(start, Math.min(p, head.length));
    }
    // Ranges must be in order for the head to be rebuilt.
    const pairs: [number, number][] = [];
    for (let k = 0; k < r.drop.length; k += 2) pairs.push([r.drop[k]!, r.drop[k + 1]!]);
    pairs.sort((a, b) => a[0] - b[0]);
    r.drop = pairs.flat();
  }
  r.framing = chunked ? CHUNKED : length > 0 ? { kind: "length", length } : NONE;
  return r;
}

/** The request's header lines (each ending CRLF) without the ranges in `drop`. */
export function keptHeaderLines(r: RequestHead): string {
  const head = r.head;
  const tail = r.headersStart < head.length ? head.slice(r.headersStart) + "\r\n" : "";
  if (r.drop.length === 0) return tail;
  let out = "";
  let at = r.headersStart;
  for (let k = 0; k < r.drop.length; k += 2) {
    out += head.slice(at, r.drop[k]!);
    at = r.drop[k + 1]!;
  }
  if (at < head.length) out += head.slice(at) + "\r\n";
  return out;
}

/** Header names whose first letter is one of these may matter in a response (content-length, connection, keep-alive, proxy-connection, set-cookie, transfer-encoding). */
function mayMatter(c: number): boolean {
  c |= 32;
  return c === 99 || c === 107 || c === 112 || c === 115 || c === 116;
}

/**
 * Parses a response head (latin1, without CRLFCRLF) without splitting it:
 * only lines whose name may matter are looked at, so the common response
 * passes through as the same string with the router's lines appended.
 */
export function parseResponseHead(head: string, method: string): ResponseHead {
  if (!head.startsWith("HTTP/1.")) throw new HeadError("malformed status line");
  const status = Number(head.slice(9, 12));
  if (!(status >= 100 && status <= 999)) throw new HeadError("malformed status code");
  const r: ResponseHead = { status, head, framing: NONE, keepAlive: head.startsWith("HTTP/1.1"), connectionTokens: EMPTY, setCookies: EMPTY, hasHop: false };
  let length = -1;
  let chunked = false;
  let pos = head.indexOf("\r\n");
  while (pos >= 0) {
    const start = pos + 2;
    pos = head.indexOf("\r\n", start);
    const end = pos < 0 ? head.length : pos;
    const c0 = head.charCodeAt(start);
    if (c0 === 32 || c0 === 9) throw new HeadError("obsolete header line folding");
    if (!mayMatter(c0)) continue;
    const colon = head.indexOf(":", start);
    if (colon <= start || colon > end) throw new HeadError("malformed header line");
    const name = lower(head.slice(start, colon));
    switch (name) {
      case "content-length": {
        const v = head.slice(colon + 1, end).trim();
        if (!/^\d{1,15}$/.test(v)) throw new HeadError("invalid Content-Length");
        length = Number(v);
        break;
      }
      case "transfer-encoding":
        chunked = tokens(head.slice(colon + 1, end)).at(-1) === "chunked";
        break;
      case "connection":
        r.hasHop = true;
        r.connectionTokens = r.connectionTokens.concat(tokens(head.slice(colon + 1, end)));
        for (const t of r.connectionTokens) {
          if (t === "close") r.keepAlive = false;
          else if (t === "keep-alive") r.keepAlive = true;
        }
        break;
      case "keep-alive":
      case "proxy-connection":
        r.hasHop = true;
        break;
      case "set-cookie":
        (r.setCookies === EMPTY ? (r.setCookies = []) : r.setCookies).push(head.slice(start, end));
        break;
    }
  }
  const bodiless = method === "HEAD" || status < 200 || status === 204 || status === 304;
  if (bodiless) r.framing = NONE;
  else if (chunked) r.framing = CHUNKED;
  else if (length >= 0) r.framing = length > 0 ? { kind: "length", length } : NONE;
  else r.framing = CLOSE;
  if (r.framing.kind === "close") r.keepAlive = false;
  return r;
}

/** The response's lines without hop-by-hop ones (the slow path, when `hasHop`). */
export function withoutHop(res: ResponseHead): string {
  const lines = res.head.split("\r\n");
  let out = lines[0]!;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const name = lower(line.slice(0, line.indexOf(":")).trim());
    // Transfer-Encoding stays: bodies pass through with their own framing.
    if (name === "connection" || name === "keep-alive" || name === "proxy-connection" || (name !== "transfer-encoding" && res.connectionTokens.includes(name))) continue;
    out += "\r\n" + line;
  }
  return out;
}
