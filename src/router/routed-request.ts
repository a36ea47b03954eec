import type { RouteTarget } from "../opi/index.ts";
import type { AccessLog } from "./access-log.ts";
import type { RequestHead, ResponseHead } from "./edge/http-head.ts";
import type { ClientInfo, LocalAnswer, Outcome, ProxyPlan } from "./edge/types.ts";
import { forwarded, requestHead, type Forwarded } from "./forward-headers.ts";
import { badGateway, gatewayTimeout } from "./messages.ts";
import type { Pool } from "./routing/pool.ts";
import { vcapCookieLine } from "./sticky.ts";

export interface RoutedRequestInit {
  req: RequestHead;
  client: ClientInfo;
  host: string;
  pool: Pool;
  requestId: string;
  /** The instance asked for by X-Cf-App-Instance: only that one is tried. */
  pinned: RouteTarget | undefined;
  /** The instance a sticky session asks for (`__VCAP_ID__`), "" for none. */
  sticky: string;
  accessLog: AccessLog | null;
}

/**
 * One request to an app as the router plans it: which instance to try next
 * (sticky or pinned first, then the pool's weighted round-robin, never the
 * same one twice), the headers gorouter sets, and the access-log line.
 */
export class RoutedRequest implements ProxyPlan {
  private current: RouteTarget | null = null;
  private readonly tried: RouteTarget[] = [];
  private readonly fwd: Forwarded;
  private readonly startMs = Date.now();
  private readonly t0 = performance.now();
  private firstAttemptAt = 0;

  constructor(private readonly o: RoutedRequestInit) {
    this.fwd = forwarded(o.req, o.client);
  }

  next(): RouteTarget | null {
    let t: RouteTarget | null;
    if (this.o.pinned) t = this.tried.length === 0 ? this.o.pinned : null;
    else if (this.tried.length === 0 && this.o.sticky) t = this.o.pool.byInstanceGuid(this.o.sticky) ?? this.o.pool.pick();
    else t = this.o.pool.pick(this.tried);
    if (t) {
      if (this.tried.length === 0) this.firstAttemptAt = performance.now();
      this.tried.push(t);
    }
    this.current = t;
    return t;
  }

  requestHead(): string {
    const t = this.current!;
    // A trusted load balancer's X-Request-Start (when the request reached the foundation) is kept, as gorouter keeps it.
    const start = this.o.client.trusted && this.o.req.xRequestStart ? this.o.req.xRequestStart : this.startMs;
    return requestHead(this.o.req, this.fwd, `X-Request-Start: ${start}\r\nX-Vcap-Request-Id: ${this.o.requestId}\r\n${this.o.pool.instanceHeaders(t)}`);
  }

  responseLines(res: ResponseHead): string {
    const id = `X-Vcap-Request-Id: ${this.o.requestId}\r\n`;
    if (res.setCookies.length === 0 && !this.o.sticky) return id;
    const t = this.current!;
    return id + vcapCookieLine(res.setCookies, t.instance_guid, this.o.sticky);
  }

  failure(kind: "unavailable" | "timeout"): LocalAnswer {
    return kind === "timeout" ? gatewayTimeout(this.o.requestId) : badGateway(this.o.requestId);
  }

  done(out: Outcome): void {
    const log = this.o.accessLog;
    if (!log) return;
    const t = this.current ?? this.tried.at(-1) ?? null;
    const end = performance.now();
    const req = this.o.req;
    log.write({
      host: req.host,
      startMs: this.startMs,
      method: req.method,
      target: req.target,
      version: req.version,
      status: out.status,
      bytesReceived: out.bytesReceived,
      bytesSent: out.bytesSent,
      referer: req.referer,
      userAgent: req.userAgent,
      remote: `${this.o.client.remoteAddress}:${this.o.client.remotePort}`,
      backend: out.target?.address ?? "",
      xForwardedFor: this.fwd.for,
      xForwardedProto: this.fwd.proto,
      requestId: this.o.requestId,
      responseTime: (end - this.t0) / 1000,
      routerTime: ((this.firstAttemptAt || end) - this.t0) / 1000,
      appId: t?.app_guid ?? this.o.pool.appGuid,
      appIndex: t ? String(t.index) : "",
      instanceId: t?.instance_guid ?? "",
      routerError: out.routerError,
    });
  }
}

/**
 * A request the router does not claim, to the appliance's own HTTP server
 * (API, registry, UI) behind the edge: one target, X-Forwarded-* set.
 */
export class InnerRequest implements ProxyPlan {
  private given = false;
  constructor(
    private readonly req: RequestHead,
    private readonly client: ClientInfo,
    private readonly address: string,
  ) {}

  next(): { address: string } | null {
    if (this.given) return null;
    this.given = true;
    return { address: this.address };
  }

  requestHead(): string {
    return requestHead(this.req, forwarded(this.req, this.client), "");
  }

  responseLines(): string {
    return "";
  }

  failure(): LocalAnswer {
    return { status: 502, routerError: "", headers: "", body: "502 Bad Gateway: the appliance's API did not answer.\n" };
  }

  done(): void {}
}
