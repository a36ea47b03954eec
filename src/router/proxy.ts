import type { Server } from "bun";
import type { Logger } from "../log/index.ts";
import type { RouteTarget } from "../opi/index.ts";
import { badGateway, noEndpoints, unknownRoute } from "./messages.ts";

/** Hop-by-hop headers (RFC 9110 7.6.1) never cross a proxy. */
const HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/** Bodies up to this size are buffered so a refused connection can be retried on another instance. */
export const REPLAYABLE_BODY_BYTES = 1024 * 1024;

export interface ProxyDeps {
  targets: (host: string) => RouteTarget[];
  knowsRoute: (host: string) => boolean;
  logger: Logger;
}

function stripHop(h: Headers): void {
  const listed = (h.get("connection") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP, ...listed]) h.delete(name);
}

/** Request headers for the instance: hop-by-hop removed, X-Forwarded-* kept and extended, a request id. */
export function forwardHeaders(req: Request, server: Server<unknown>, host: string, requestId: string): Headers {
  const h = new Headers(req.headers);
  stripHop(h);
  const client = server.requestIP(req)?.address;
  const xff = h.get("x-forwarded-for");
  if (client) h.set("x-forwarded-for", xff ? `${xff}, ${client}` : client);
  if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", new URL(req.url).protocol === "https:" ? "https" : "http");
  if (!h.has("x-forwarded-host")) h.set("x-forwarded-host", req.headers.get("host") ?? host);
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

  /** Instances for `host` in round-robin order, starting with the next one due. */
  ordered(host: string): RouteTarget[] {
    const all = this.deps.targets(host);
    if (all.length <= 1) return all;
    const start = (this.next.get(host) ?? 0) % all.length;
    this.next.set(host, start + 1);
    return [...all.slice(start), ...all.slice(0, start)];
  }

  async handle(req: Request, server: Server<unknown>, host: string): Promise<Response> {
    const requestId = crypto.randomUUID();
    const targets = this.ordered(host);
    if (targets.length === 0) return this.deps.knowsRoute(host) ? noEndpoints(host, requestId) : unknownRoute(host, requestId);
    const url = new URL(req.url);
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
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      try {
        // decompress: false keeps Content-Encoding as the app sent it; duplex streams the request body.
        const init = { method: req.method, headers, body, redirect: "manual", decompress: false, duplex: "half" } as RequestInit;
        const upstream = await fetch(`http://${t.address}${url.pathname}${url.search}`, init);
        const out = new Headers(upstream.headers);
        stripHop(out);
        out.set("x-vcap-request-id", requestId);
        return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
      } catch (err) {
        const retry = refused(err) && replayable && i < targets.length - 1;
        this.deps.logger.debug("instance did not answer", { host, address: t.address, retry, error: err });
        if (!retry) return badGateway(requestId);
      }
    }
    return badGateway(requestId);
  }
}
