import type { RouteTarget } from "../../opi/index.ts";

/** One route destination (a process) in a pool: its weight and its instances. */
interface Destination {
  processGuid: string;
  weight: number;
  /** Smooth weighted round-robin state (nginx's algorithm): deterministic, exact ratios per cycle. */
  current: number;
  instances: RouteTarget[];
  next: number;
}

/**
 * The live instances behind one route (host + path): weighted choice
 * between destinations, round-robin within a destination, lookups by
 * instance guid (sticky sessions) and by app guid + index (X-Cf-App-Instance).
 */
export class Pool {
  private readonly destinations: Destination[] = [];
  private readonly total: number;
  readonly size: number;
  /** The app of the first destination (for logging a request no instance answered). */
  readonly appGuid: string;

  constructor(readonly path: string, targets: RouteTarget[], previous?: Pool) {
    const byPg = new Map<string, Destination>();
    for (const t of targets) {
      let d = byPg.get(t.process_guid);
      if (!d) {
        const old = previous?.destinations.find((x) => x.processGuid === t.process_guid);
        d = { processGuid: t.process_guid, weight: Math.max(1, t.weight), current: old?.current ?? 0, instances: [], next: old?.next ?? 0 };
        byPg.set(t.process_guid, d);
        this.destinations.push(d);
      }
      d.instances.push(t);
    }
    this.total = this.destinations.reduce((s, d) => s + d.weight, 0);
    this.size = targets.length;
    this.appGuid = targets[0]?.app_guid ?? "";
  }

  /** The next instance due, skipping `tried` ones; null when every instance was tried. */
  pick(tried?: readonly RouteTarget[]): RouteTarget | null {
    const ds = this.destinations;
    if (ds.length === 1) return nextIn(ds[0]!, tried);
    for (let attempt = 0; attempt < ds.length; attempt++) {
      let best: Destination | undefined;
      for (const d of ds) {
        d.current += d.weight;
        if (!best || d.current > best.current) best = d;
      }
      best!.current -= this.total;
      const t = nextIn(best!, tried);
      if (t) return t;
    }
    for (const d of ds) {
      const t = nextIn(d, tried);
      if (t) return t;
    }
    return null;
  }

  /** gorouter's per-instance request headers for a target of this pool, built once per pool. */
  instanceHeaders(t: RouteTarget): string {
    let h = this.headers.get(t);
    if (h === undefined) {
      h = `X-CF-ApplicationID: ${t.app_guid}\r\nX-CF-InstanceID: ${t.instance_guid}\r\nX-CF-InstanceIndex: ${t.index}\r\n`;
      this.headers.set(t, h);
    }
    return h;
  }

  private readonly headers = new Map<RouteTarget, string>();

  byInstanceGuid(id: string): RouteTarget | undefined {
    for (const d of this.destinations) for (const t of d.instances) if (t.instance_guid === id) return t;
    return undefined;
  }

  byAppIndex(appGuid: string, index: number): RouteTarget | undefined {
    for (const d of this.destinations) for (const t of d.instances) if (t.app_guid === appGuid && t.index === index) return t;
    return undefined;
  }
}

function nextIn(d: Destination, tried?: readonly RouteTarget[]): RouteTarget | null {
  const n = d.instances.length;
  for (let k = 0; k < n; k++) {
    const t = d.instances[d.next++ % n]!;
    if (!tried || !tried.includes(t)) return t;
  }
  return null;
}
