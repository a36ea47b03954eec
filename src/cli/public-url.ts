import { AsyncLocalStorage } from "node:async_hooks";
import { BlockList, isIP } from "node:net";

/**
 * The base URL of links the appliance hands out (`/`, `/v3`, UAA, log-cache,
 * jobs, packages, droplets), decided per request:
 * 1. config `externalUrl` when set: the admin named the URL users reach;
 * 2. else X-Forwarded-Proto/Host/Port, but only from a peer in
 *    `trustedProxies` (anyone else could send them to point links elsewhere);
 * 3. else the listener the request came in on (http://host:port or the TLS
 *    listener's https://host:port).
 * Work outside a request (the Sink, staging callbacks) gets 1, else the
 * plain listener. Parts read it through PartContext.baseUrl(), unchanged:
 * the request's answer is kept in an AsyncLocalStorage around the handler.
 */
export class PublicUrls {
  private readonly current = new AsyncLocalStorage<string>();
  private readonly trusted = new BlockList();
  private readonly anyTrusted: boolean;

  constructor(
    private readonly opts: { externalUrl?: string | undefined; trustedProxies: readonly string[] },
    /** The plain listener's URL, for work outside a request. */
    private readonly fallback: () => string,
  ) {
    for (const entry of opts.trustedProxies) {
      const [ip, bits] = entry.split("/");
      const type = isIP(ip!) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.trusted.addAddress(ip!, type);
      else this.trusted.addSubnet(ip!, Number(bits), type);
    }
    this.anyTrusted = opts.trustedProxies.length > 0;
  }

  /** What PartContext.baseUrl() answers. */
  baseUrl(): string {
    return this.opts.externalUrl ?? this.current.getStore() ?? this.fallback();
  }

  /**
   * Runs a request's handling with its base URL in scope. `peer` "edge": the
   * request came through the router's edge, whose X-Forwarded-* headers are
   * already judged against trustedProxies (kept from trusted peers, replaced
   * otherwise), so they are believed as they are.
   */
  run<T>(req: Request, peer: string | undefined, listenerUrl: string, fn: () => T): T {
    if (this.opts.externalUrl) return fn();
    return this.current.run(this.forwarded(req, peer) ?? listenerUrl, fn);
  }

  /**
   * The client's address on a request from the edge: the rightmost
   * X-Forwarded-For entry that is not a trusted proxy (the edge appends the
   * peer it saw and keeps earlier entries only from trusted proxies).
   */
  clientBehindEdge(req: Request): string | undefined {
    const chain = (req.headers.get("x-forwarded-for") ?? "").split(",").map((e) => e.trim()).filter(Boolean);
    for (let i = chain.length - 1; i >= 0; i--) if (i === 0 || !this.isTrusted(chain[i])) return chain[i];
    return undefined;
  }

  private isTrusted(peer: string | undefined): boolean {
    if (peer === "edge") return true;
    if (!this.anyTrusted || !peer) return false;
    // IPv4 peers on a dual-stack socket arrive as ::ffff:a.b.c.d.
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer)?.[1];
    if (v4) return this.trusted.check(v4, "ipv4");
    return this.trusted.check(peer, isIP(peer) === 6 ? "ipv6" : "ipv4");
  }

  /** scheme://host[:port] from a trusted proxy's X-Forwarded-* headers, or null. */
  private forwarded(req: Request, peer: string | undefined): string | null {
    if (!this.isTrusted(peer)) return null;
    const first = (name: string) => req.headers.get(name)?.split(",")[0]?.trim() || undefined;
    const host = first("x-forwarded-host");
    const proto = first("x-forwarded-proto")?.toLowerCase();
    if (!host && !proto) return null;
    const scheme = proto === "https" || proto === "http" ? proto : new URL(req.url).protocol.replace(":", "");
    let authority = host ?? req.headers.get("host") ?? new URL(req.url).host;
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(authority)) return null;
    const port = first("x-forwarded-port");
    if (port && /^\d{1,5}$/.test(port) && !/:\d+$/.test(authority.replace(/^\[.*\]/, ""))) {
      if (!((scheme === "https" && port === "443") || (scheme === "http" && port === "80"))) authority = `${authority}:${port}`;
    }
    return `${scheme}://${authority}`;
  }
}
