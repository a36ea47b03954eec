import { normalizeHost, type LRP } from "../../model/index.ts";
import type { RouteTarget } from "../backend.ts";
import { primaryPort, type Desired } from "./slot.ts";

/**
 * Which desired LRPs route each host, and their live targets. The router asks
 * on every request, so answers are cached per host and dropped whenever routes
 * change or any instance changes state or count (`invalidate`).
 */
export class RouteTable {
  private readonly owners = new Map<string, Set<string>>();
  private readonly cache = new Map<string, RouteTarget[]>();

  constructor(private readonly desired: ReadonlyMap<string, Desired>) {}

  add(d: Desired): void {
    this.cache.clear();
    for (const h of hostsOf(d.lrp)) {
      let set = this.owners.get(h);
      if (!set) this.owners.set(h, (set = new Set()));
      set.add(d.lrp.process_guid);
    }
  }

  remove(d: Desired): void {
    this.cache.clear();
    for (const h of hostsOf(d.lrp)) {
      const set = this.owners.get(h);
      set?.delete(d.lrp.process_guid);
      if (set?.size === 0) this.owners.delete(h);
    }
  }

  invalidate(): void {
    this.cache.clear();
  }

  /** True when some desired LRP routes `host`, running or not: the router's 503-vs-404 question. */
  knows(host: string): boolean {
    return this.owners.has(normalizeHost(host));
  }

  /** RUNNING instances of every LRP routing `host`, on the port that route names. */
  targets(host: string): RouteTarget[] {
    const h = normalizeHost(host);
    const cached = this.cache.get(h);
    if (cached) return cached;
    const owners = this.owners.get(h);
    if (!owners) return [];
    const out: RouteTarget[] = [];
    for (const pg of owners) {
      const d = this.desired.get(pg);
      if (!d) continue;
      const port = Object.values(d.lrp.routes).flat().find((r) => normalizeHost(r.hostname) === h)?.port ?? primaryPort(d.lrp);
      for (const s of d.slots) {
        if (s.state !== "RUNNING") continue;
        const hostPort = s.ports.get(port) ?? s.ports.get(primaryPort(d.lrp));
        if (hostPort) out.push({ process_guid: pg, index: s.index, address: `${s.handle?.record.host || "127.0.0.1"}:${hostPort}` });
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
    .map((r) => normalizeHost(r.hostname));
}
