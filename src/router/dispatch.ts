import { normalizeHost } from "../model/index.ts";
import type { AccessLog } from "./access-log.ts";
import type { RequestHead } from "./edge/http-head.ts";
import type { ClientInfo, Dispatch, Dispatcher } from "./edge/types.ts";
import { invalidInstanceHeader, noEndpoints, unknownInstance, unknownRoute } from "./messages.ts";
import { InnerRequest, RoutedRequest } from "./routed-request.ts";
import type { RoutePools } from "./routing/route-pools.ts";
import { stickyInstance } from "./sticky.ts";

export interface DispatchDeps {
  /** Whether a (normalized) host is the router's: under a route domain, or routed by some app. */
  claims: (host: string) => boolean;
  pools: RoutePools;
  accessLog: AccessLog | null;
  /** The appliance's own HTTP server for requests the router does not claim; null = 404 them. */
  inner: () => string | null;
}

const APP_INSTANCE = /^([^:\s]+):(\d+)$/;

/**
 * The router's decision per request head: not ours -> the appliance's
 * server; ours -> gorouter's lookup (X-Cf-App-Instance, longest route path,
 * 404/503 answers), then a RoutedRequest with sticky and pinned instances.
 */
export function createDispatcher(d: DispatchDeps): Dispatcher {
  return (req: RequestHead, client: ClientInfo): Dispatch => {
    const host = normalizeHost(req.host);
    if (!d.claims(host)) {
      const inner = d.inner();
      if (inner) return { kind: "proxy", plan: new InnerRequest(req, client, inner) };
      return { kind: "answer", answer: unknownRoute(host, crypto.randomUUID()) };
    }
    const requestId = crypto.randomUUID();
    let pinnedGuid = "";
    let pinnedIndex = -1;
    if (req.cfAppInstance) {
      const m = APP_INSTANCE.exec(req.cfAppInstance);
      if (!m) return { kind: "answer", answer: invalidInstanceHeader(requestId) };
      pinnedGuid = m[1]!;
      pinnedIndex = Number(m[2]);
    }
    const found = d.pools.lookup(host, req.target);
    if (found.kind === "unknown") return { kind: "answer", answer: pinnedGuid ? unknownInstance(host, pinnedGuid, String(pinnedIndex), requestId) : unknownRoute(host, requestId) };
    if (found.kind === "empty") return { kind: "answer", answer: pinnedGuid ? unknownInstance(host, pinnedGuid, String(pinnedIndex), requestId) : noEndpoints(host, requestId) };
    const pool = found.pool;
    const pinned = pinnedGuid ? pool.byAppIndex(pinnedGuid, pinnedIndex) : undefined;
    if (pinnedGuid && !pinned) return { kind: "answer", answer: unknownInstance(host, pinnedGuid, String(pinnedIndex), requestId) };
    return { kind: "proxy", plan: new RoutedRequest({ req, client, host, pool, requestId, pinned, sticky: stickyInstance(req.cookie), accessLog: d.accessLog }) };
  };
}
