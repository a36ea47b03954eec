import { pathCovers, type RouteTarget } from "../../opi/index.ts";
import { Pool } from "./pool.ts";

/** Where the router reads routes from (the OPI backend's route targets). */
export interface RouteSource {
  /** RUNNING instances for every path of a host. */
  targets(host: string): RouteTarget[];
  /** Every path desired on the host, running or not (optional; else the live targets' paths). */
  paths?(host: string): string[];
  /** Whether any app routes the host at all (503 vs 404). */
  knows(host: string): boolean;
}

export type Lookup = { kind: "unknown" } | { kind: "empty"; path: string } | { kind: "pool"; pool: Pool };

interface HostEntry {
  targets: RouteTarget[];
  paths: string[] | undefined;
  /** Route paths, longest first. */
  order: string[];
  pools: Map<string, Pool>;
}

const UNKNOWN: Lookup = { kind: "unknown" };

/**
 * Per-host pools keyed by route path, rebuilt only when the backend hands
 * out a different targets array (the local backend caches them, so a steady
 * route costs one Map lookup per request). The longest route path that
 * covers the request path on segment boundaries wins, as in gorouter.
 */
export class RoutePools {
  private readonly hosts = new Map<string, HostEntry>();

  constructor(private readonly source: RouteSource) {}

  /** `host` is normalized (lower case, no port); `target` is the request target ("/path?query"). */
  lookup(host: string, target: string): Lookup {
    const targets = this.source.targets(host);
    const paths = this.source.paths?.(host);
    let e = this.hosts.get(host);
    if (!e || e.targets !== targets || e.paths !== paths) e = this.rebuild(host, targets, paths, e);
    const order = e.order;
    if (order.length === 0) return this.source.knows(host) ? { kind: "empty", path: "" } : UNKNOWN;
    let path = "";
    if (order.length > 1 || order[0] !== "") {
      const lowered = target.toLowerCase();
      const found = order.find((p) => pathCovers(p, lowered));
      if (found === undefined) return UNKNOWN;
      path = found;
    }
    const pool = e.pools.get(path);
    return pool ? { kind: "pool", pool } : { kind: "empty", path };
  }

  private rebuild(host: string, targets: RouteTarget[], paths: string[] | undefined, old: HostEntry | undefined): HostEntry {
    const byPath = new Map<string, RouteTarget[]>();
    for (const t of targets) {
      const list = byPath.get(t.path);
      if (list) list.push(t);
      else byPath.set(t.path, [t]);
    }
    const pools = new Map<string, Pool>();
    for (const [p, ts] of byPath) pools.set(p, new Pool(p, ts, old?.pools.get(p)));
    const order = [...new Set([...(paths ?? []), ...byPath.keys()])].sort((a, b) => b.length - a.length);
    const e: HostEntry = { targets, paths, order, pools };
    if (order.length === 0) return e; // unknown or idle hosts are not worth remembering
    // A guard, not an eviction policy: only routed hosts get here.
    if (this.hosts.size > 10_000) this.hosts.clear();
    this.hosts.set(host, e);
    return e;
  }
}
