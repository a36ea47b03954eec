import type { RouteTarget } from "../../opi/index.ts";

/**
 * Requests in flight per instance address, across pools (a pool is rebuilt
 * whenever its route's targets change): what gorouter's least-connection
 * balancing compares. Counted only for routes that ask for it.
 */
const inFlight = new Map<string, number>();

export function requestStarted(t: RouteTarget): void {
  inFlight.set(t.address, (inFlight.get(t.address) ?? 0) + 1);
}

export function requestEnded(t: RouteTarget): void {
  const n = (inFlight.get(t.address) ?? 1) - 1;
  if (n <= 0) inFlight.delete(t.address);
  else inFlight.set(t.address, n);
}

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
  /** The route asks for least-connection balancing (CF route option): within a destination, the instance with the fewest requests in flight. */
  readonly leastConnection: boolean;

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
    this.leastConnection = targets.some((t) => t.loadbalancing === "least-connection");
  }

  /** The next instance due, skipping `tried` ones; null when every instance was tried. */
  pick(tried?: readonly RouteTarget[]): RouteTarget | null {
    const ds = this.destinations;
    const nextIn = this.leastConnection ? leastIn : roundRobinIn;
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

/** Least-connection within a destination: fewest requests in flight; ties go round-robin. */
function leastIn(d: Destination, tried?: readonly RouteTarget[]): RouteTarget | null {
  const n = d.instances.length;
  let best = -1;
  let bestCount = Infinity;
  for (let k = 0; k < n; k++) {
    const i = (d.next + k) % n;
    const t = d.instances[i]!;
    if (tried && tried.includes(t)) continue;
    const c = inFlight.get(t.address) ?? 0;
    if (c < bestCount) {
      best = i;
      bestCount = c;
    }
  }
  if (best < 0) return null;
  d.next = best + 1;
  return d.instances[best]!;
}

function roundRobinIn(d: Destination, tried?: readonly RouteTarget[]): RouteTarget | null {
  const n = d.instances.length;
  for (let k = 0; k < n; k++) {
    const t = d.instances[d.next++ % n]!;
    if (!tried || !tried.includes(t)) return t;
  }
  return null;
}
