import { normalizeHost } from "../../model/index.ts";
import type { RouteTarget } from "../backend.ts";
import type { Informer } from "./informer.ts";
import { podState } from "./instances.ts";
import type { PodRecord, ServiceRecord } from "./projections.ts";

/**
 * The router's questions, answered from the caches: which instances serve a
 * host (RUNNING pods of live processes whose route Service names the host),
 * whether a host is routed at all (503 vs 404), and which Service to proxy
 * through. `live(pg)` says whether a process is live and how its pods are
 * named; the host index is kept by the backend as Services come and go.
 */
export interface RouteLookupOptions {
  services: Informer<ServiceRecord>;
  pods: Informer<PodRecord>;
  servicesByHost: Map<string, Set<string>>;
  live(processGuid: string): { stsName: string; instances: number } | null;
  /** Route targets: pod IPs (in-cluster) or an address that proxies through the API server. */
  routeAddress?: (target: { processGuid: string; pod: PodRecord; port: number; service: string }) => string | null;
}

export class RouteLookup {
  constructor(private readonly o: RouteLookupOptions) {}

  private *liveServices(host: string): Generator<ServiceRecord> {
    for (const name of this.o.servicesByHost.get(normalizeHost(host)) ?? []) {
      const svc = this.o.services.get(name);
      if (svc && this.o.live(svc.processGuid)) yield svc;
    }
  }

  targets(host: string): RouteTarget[] {
    const out: RouteTarget[] = [];
    for (const svc of this.liveServices(host)) {
      const p = this.o.live(svc.processGuid)!;
      for (let i = 0; i < p.instances; i++) {
        const pod = this.o.pods.get(`${p.stsName}-${i}`);
        if (!pod || pod.deleting || podState(pod).state !== "RUNNING" || !pod.ip) continue;
        const address = this.o.routeAddress ? this.o.routeAddress({ processGuid: svc.processGuid, pod, port: svc.port, service: svc.name }) : `${pod.ip}:${svc.port}`;
        if (address) out.push({ process_guid: svc.processGuid, index: i, address });
      }
    }
    return out;
  }

  knows(host: string): boolean {
    return !this.liveServices(host).next().done;
  }

  service(host: string): { name: string; port: number } | undefined {
    const svc = this.liveServices(host).next().value;
    return svc ? { name: svc.name, port: svc.port } : undefined;
  }
}
