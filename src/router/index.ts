/**
 * Router contract: `createRouterPart(options)` returns an AppliancePart
 * whose `edge` owns the appliance's public port. Its HTTP/1.1 edge reads
 * each request head and claims by Host (without port) any name under the
 * route domain (default `apps.localhost`, so `myapp.apps.localhost:7080`
 * needs no DNS) or a host some app routes; everything else goes on to the
 * appliance's own HTTP server (API, registry, UI), as gorouter fronts a CF
 * foundation's API.
 *
 * Claimed requests behave like gorouter's: the longest route path covering
 * the request path on segment boundaries wins (path passed on unchanged);
 * weighted choice between route destinations, round-robin within one;
 * X-Forwarded-For/-Proto/-Host (incoming values only from
 * `trustedProxies`), X-Request-Start, X-Vcap-Request-Id, X-CF-ApplicationID,
 * X-CF-InstanceID, X-CF-InstanceIndex; X-Cf-App-Instance (APP_GUID:INDEX)
 * pins an instance; JSESSIONID/__VCAP_ID__ sticky sessions; WebSocket
 * upgrades tunnelled; a refused connection retried on the next instance;
 * 404 unknown route, 503 no instance up, 502 none answered (or it went away
 * mid-request), 504 no answer within the request timeout; one access-log
 * line per request in gorouter's format into the app's log as RTR/0.
 */
import type { Logger } from "../log/index.ts";
import type { LogSink } from "../model/index.ts";
import type { RouteTarget } from "../opi/index.ts";
import type { AppliancePart } from "../part/index.ts";
import { AccessLog } from "./access-log.ts";
import { normalizeHost, underDomain } from "./host.ts";
import { createDispatcher } from "./dispatch.ts";
import type { EdgeTimeouts } from "./edge/edge-core.ts";
import { listenEdge, type EdgeListener } from "./edge/edge.ts";
import { RoutePools } from "./routing/route-pools.ts";
import { trustedProxyMatcher } from "./trusted-proxies.ts";

export { normalizeHost, requestHost, underDomain } from "./host.ts";
export { formatAccessLine, type AccessRecord } from "./access-log.ts";
export type { EdgeListener } from "./edge/edge.ts";
export type { EdgeTimeouts } from "./edge/edge-core.ts";

export interface RouterOptions {
  /** Route domain; names under it are always the router's (default apps.localhost). */
  domain: string;
  /** RUNNING instances for a host, every path (OpiBackend.routeTargets). */
  targets: (host: string) => RouteTarget[];
  /** More route domains (the Cloud Controller's created ones): hosts equal to or under them are the router's too. */
  domains?: () => readonly string[];
  /** Whether some desired app routes the host at all (503 vs 404); defaults to "has targets". */
  knowsRoute?: (host: string) => boolean;
  /** Every path desired on a host (OpiBackend.routePaths), so a path whose instances are down answers 503. */
  routePaths?: (host: string) => string[];
  /** Where access-log lines go (the appliance's app log store); none = no access log. */
  logs?: LogSink;
  /** Peers whose X-Forwarded-* headers are kept (IPs or CIDRs). */
  trustedProxies?: readonly string[];
  timeouts?: Partial<EdgeTimeouts>;
  logger: Logger;
}

/** Pooled upstream connections idle for 3 s are closed: before the apps' own keep-alive timeouts (Node's is 5 s) can race a request. */
export const DEFAULT_TIMEOUTS: EdgeTimeouts = { requestTimeoutMs: 900_000, idleTimeoutMs: 120_000, upstreamIdleMs: 3000, sweepMs: 1000, connectTimeoutMs: 5000 };

export interface RouterPart extends AppliancePart {
  edge: {
    /**
     * Listens on hostname:port (HTTPS with `tls`: X-Forwarded-Proto https); requests the router does not
     * claim go to `inner` ("127.0.0.1:<port>"), if given. Several listeners may share one router.
     */
    listen(o: { hostname: string; port: number; inner?: string; tls?: { cert: string; key: string } }): EdgeListener;
  };
}

export function createRouterPart(opts: RouterOptions): RouterPart {
  const logger = opts.logger.child({ part: "router" });
  const knowsRoute = opts.knowsRoute ?? ((h: string) => opts.targets(h).length > 0);
  const pools = new RoutePools({ targets: opts.targets, knows: knowsRoute, ...(opts.routePaths ? { paths: opts.routePaths } : {}) });
  const accessLog = opts.logs ? new AccessLog(opts.logs) : null;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const isTrusted = trustedProxyMatcher(opts.trustedProxies ?? []);
  const domain = normalizeHost(opts.domain);
  // The route domain, the Cloud Controller's created domains (hosts equal to or under them), and any host an app routes.
  const underAny = (host: string) => opts.domains?.().some((d) => host === d || underDomain(host, d)) ?? false;
  const claims = (host: string) => host !== "" && (underDomain(host, domain) || knowsRoute(host) || underAny(host));
  return {
    name: "router",
    edge: {
      listen({ hostname, port, inner, tls }) {
        const dispatch = createDispatcher({ claims, pools, accessLog, inner: () => inner ?? null });
        return listenEdge({ dispatch, timeouts, isTrusted, logger }, hostname, port, tls);
      },
    },
  };
}
