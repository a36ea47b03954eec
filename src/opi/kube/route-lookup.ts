import type { RouteEntry } from "../../model/index.ts";
import type { RouteTarget } from "../backend.ts";
import { pathCovers, routeKey } from "../route-key.ts";
import type { Informer } from "./informer.ts";
import { podState } from "./instances.ts";
import type { PodRecord, ServiceRecord } from "./projections.ts";

/**
 * The router's questions, answered from the caches: which instances serve a
 * host (RUNNING pods of live processes whose route Service names the host),
 * whether a host is routed at all (503 vs 404), which paths it routes, and
 * which Service to proxy through. A route with a path ("host/path") is
 * indexed under its host; its targets carry the path and the route's weight.
 * `live(pg)` says whether a process is live, how its pods are named and what
 * it routes; the host index is kept by the backend as Services come and go.
 */
export interface RouteLookupOptions {
  services: Informer<ServiceRecord>;
  pods: Informer<PodRecord>;
  servicesByHost: Map<string, Set<string>>;
  live(processGuid: string): { stsName: string; instances: number; appGuid: string; routes: RouteEntry[] } | null;
  /** Route targets: pod IPs (in-cluster) or an address that proxies through the API server. */
  routeAddress?: (target: { processGuid: string; pod: PodRecord; port: number; service: string }) => string | null;
}

export class RouteLookup {
  constructor(private readonly o: RouteLookupOptions) {}

  private *liveServices(host: string): Generator<ServiceRecord> {
    for (const name of this.o.servicesByHost.get(routeKey(host).host) ?? []) {
      const svc = this.o.services.get(name);
      if (svc && this.o.live(svc.processGuid)) yield svc;
    }
  }

  targets(host: string): RouteTarget[] {
    const out: RouteTarget[] = [];
    for (const svc of this.liveServices(host)) {
      const p = this.o.live(svc.processGuid)!;
      const path = routeKey(svc.host).path;
      const weight = p.routes.find((r) => r.hostname.toLowerCase() === svc.host && r.port === svc.port)?.weight ?? 1;
      for (let i = 0; i < p.instances; i++) {
        const pod = this.o.pods.get(`${p.stsName}-${i}`);
        if (!pod || pod.deleting || podState(pod).state !== "RUNNING" || !pod.ip) continue;
        const address = this.o.routeAddress ? this.o.routeAddress({ processGuid: svc.processGuid, pod, port: svc.port, service: svc.name }) : `${pod.ip}:${svc.port}`;
        if (address) out.push({ process_guid: svc.processGuid, app_guid: p.appGuid, index: i, instance_guid: pod.uid, address, path, weight });
      }
    }
    return out;
  }

  /** Every path routed on `host` by a live process, running or not. */
  paths(host: string): string[] {
    return [...new Set([...this.liveServices(host)].map((svc) => routeKey(svc.host).path))];
  }

  knows(host: string): boolean {
    return !this.liveServices(host).next().done;
  }

  /** The route Service for a request: with route paths on the host, the longest one covering the path wins (as in the router). */
  service(host: string, path = "/"): { name: string; port: number } | undefined {
    let best: { name: string; port: number; len: number } | undefined;
    const lowered = path.toLowerCase();
    for (const svc of this.liveServices(host)) {
      const p = routeKey(svc.host).path;
      if (pathCovers(p, lowered) && (!best || p.length > best.len)) best = { name: svc.name, port: svc.port, len: p.length };
    }
    return best ? { name: best.name, port: best.port } : undefined;
  }
}
