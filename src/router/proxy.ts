import type { Server } from "bun";
import type { Logger } from "../log/index.ts";
import type { RouteTarget } from "../opi/index.ts";
import { badGateway, noEndpoints, unknownRoute } from "./messages.ts";

/** Hop-by-hop headers (RFC 9110 7.6.1) never cross a proxy. */
export const HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/** Bodies up to this size are buffered so a refused connection can be retried on another instance. */
export const REPLAYABLE_BODY_BYTES = 1024 * 1024;

export interface ProxyDeps {
  targets: (host: string) => RouteTarget[];
  knowsRoute: (host: string) => boolean;
  logger: Logger;
}

function stripHop(h: Headers): void {
  const conn = h.get("connection");
  if (conn) for (const t of conn.split(",")) if (t.trim()) h.delete(t.trim());
  for (const name of HOP) h.delete(name);
}

/** "/path?query" of an absolute request URL, without a URL parse on the hot path. */
export function pathAndQuery(url: string): string {
  const scheme = url.indexOf("://");
  const slash = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  return slash < 0 ? "/" : url.slice(slash);
}

/**
 * Request headers for the instance, edited in place (Bun's request headers
 * are mutable, and copying them costs throughput): hop-by-hop removed,
 * X-Forwarded-* kept and extended, a request id.
 */
export function forwardHeaders(req: Request, server: Server<unknown>, host: string, requestId: string): Headers {
  const h = req.headers;
  const originalHost = h.get("host");
  stripHop(h);
  const client = server.requestIP(req)?.address;
  const xff = h.get("x-forwarded-for");
  if (client) h.set("x-forwarded-for", xff ? `${xff}, ${client}` : client);
  if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", req.url.startsWith("https:") ? "https" : "http");
  if (!h.has("x-forwarded-host")) h.set("x-forwarded-host", originalHost ?? host);
  h.set("x-vcap-request-id", requestId);
  return h;
}

function refused(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === "ConnectionRefused" || e?.code === "ECONNREFUSED" || /refused|Unable to connect/i.test(e?.message ?? "");
}

/**
 * Round-robin HTTP proxying to a route's RUNNING instances. Bodies stream
 * both ways; small request bodies are buffered so that a refused connection
 * (an instance that just died) is retried on the next instance.
 */
export class HttpProxy {
  private readonly next = new Map<string, number>();

  constructor(private readonly deps: ProxyDeps) {}

  /** The next instance due for `host` (round-robin), and the others after it. */
  ordered(host: string): RouteTarget[] {
    const all = this.deps.targets(host);
    if (all.length <= 1) return all;
    const start = (this.next.get(host) ?? 0) % all.length;
    this.next.set(host, start + 1);
    return start === 0 ? all : [...all.slice(start), ...all.slice(0, start)];
  }

  async handle(req: Request, server: Server<unknown>, host: string): Promise<Response> {
    const requestId = crypto.randomUUID();
    const targets = this.ordered(host);
    if (targets.length === 0) return this.deps.knowsRoute(host) ? noEndpoints(host, requestId) : unknownRoute(host, requestId);
    const path = pathAndQuery(req.url);
    const headers = forwardHeaders(req, server, host, requestId);
    let body: ReadableStream<Uint8Array> | ArrayBuffer | null = null;
    let replayable = true;
    if (req.body && req.method !== "GET" && req.method !== "HEAD") {
      const len = Number(req.headers.get("content-length") ?? NaN);
      if (Number.isFinite(len) && len <= REPLAYABLE_BODY_BYTES) body = await req.arrayBuffer();
      else {
        body = req.body;
        replayable = false;
      }
    }
    // decompress: false keeps Content-Encoding as the app sent it; duplex streams the request body.
    const init = { method: req.method, headers, body, redirect: "manual", decompress: false, duplex: "half" } as RequestInit;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      try {
        const upstream = await fetch(`http://${t.address}${path}`, init);
        // Bun's fetch responses have mutable headers: edit and pass the streaming response straight through.
        // (Bun's fetch has already de-chunked the body; the server re-frames it.)
        const rh = upstream.headers;
        if (rh.has("connection") || rh.has("keep-alive")) stripHop(rh);
        rh.set("x-vcap-request-id", requestId);
        return upstream;
      } catch (err) {
        const retry = refused(err) && replayable && i < targets.length - 1;
        this.deps.logger.debug("instance did not answer", { host, address: t.address, retry, error: err });
        if (!retry) return badGateway(requestId);
      }
    }
    return badGateway(requestId);
  }
}
