import type { LRP } from "../../model/index.ts";
import type { RouteTarget } from "../backend.ts";
import { routeKey } from "../route-key.ts";
import { primaryPort, type Desired } from "./slot.ts";

/**
 * Which desired LRPs route each host (on which paths), and their live
 * targets. The router asks on every request, so answers are cached per host
 * (the same array until something changes) and dropped whenever routes change
 * or any instance changes state or count (`invalidate`).
 */
export class RouteTable {
  private readonly owners = new Map<string, Set<string>>();
  private readonly cache = new Map<string, RouteTarget[]>();
  private readonly pathCache = new Map<string, string[]>();

  constructor(private readonly desired: ReadonlyMap<string, Desired>) {}

  add(d: Desired): void {
    this.invalidate();
    for (const h of hostsOf(d.lrp)) {
      let set = this.owners.get(h);
      if (!set) this.owners.set(h, (set = new Set()));
      set.add(d.lrp.process_guid);
    }
  }

  remove(d: Desired): void {
    this.invalidate();
    for (const h of hostsOf(d.lrp)) {
      const set = this.owners.get(h);
      set?.delete(d.lrp.process_guid);
      if (set?.size === 0) this.owners.delete(h);
    }
  }

  invalidate(): void {
    this.cache.clear();
    this.pathCache.clear();
  }

  /** True when some desired LRP routes `host`, running or not: the router's 503-vs-404 question. */
  knows(host: string): boolean {
    return this.owners.has(routeKey(host).host);
  }

  /** Every path desired on `host` ("" for the bare host), running or not. */
  paths(host: string): string[] {
    const h = routeKey(host).host;
    const cached = this.pathCache.get(h);
    if (cached) return cached;
    const out = new Set<string>();
    for (const pg of this.owners.get(h) ?? []) {
      const d = this.desired.get(pg);
      if (d) for (const r of Object.values(d.lrp.routes).flat()) {
        const k = routeKey(r.hostname);
        if (k.host === h) out.add(k.path);
      }
    }
    const list = [...out];
    if (this.pathCache.size > 10_000) this.pathCache.clear();
    this.pathCache.set(h, list);
    return list;
  }

  /** RUNNING instances of every LRP routing `host`, per route path, on the port that route names. */
  targets(host: string): RouteTarget[] {
    const h = routeKey(host).host;
    const cached = this.cache.get(h);
    if (cached) return cached;
    const owners = this.owners.get(h);
    if (!owners) return [];
    const out: RouteTarget[] = [];
    for (const pg of owners) {
      const d = this.desired.get(pg);
      if (!d) continue;
      for (const r of Object.values(d.lrp.routes).flat()) {
        const k = routeKey(r.hostname);
        if (k.host !== h) continue;
        for (const s of d.slots) {
          if (s.state !== "RUNNING") continue;
          const hostPort = s.ports.get(r.port) ?? s.ports.get(primaryPort(d.lrp));
          if (hostPort) out.push({ process_guid: pg, app_guid: d.lrp.app_guid, index: s.index, instance_guid: s.instanceGuid, address: `${s.handle?.record.host || "127.0.0.1"}:${hostPort}`, path: k.path, weight: r.weight ?? 1 });
        }
      }
    }
    // Only routed hosts get here, so a plain bound is a guard rather than an eviction policy.
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(h, out);
    return out;
  }
}

function hostsOf(lrp: LRP): string[] {
  return Object.values(lrp.routes)
    .flat()
    .map((r) => routeKey(r.hostname).host);
}
