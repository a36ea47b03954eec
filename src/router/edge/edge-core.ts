import type { Logger } from "../../log/index.ts";
import type { Exchange } from "./exchange.ts";
import type { Dispatcher } from "./types.ts";
import { UpstreamPool, type UpstreamData, type UpstreamSocket } from "./upstream-pool.ts";

export interface EdgeTimeouts {
  /** No response head from the instance within this: 504 (gorouter's endpoint_timeout). */
  requestTimeoutMs: number;
  /** A client connection with no request in flight for this long is closed (frontend_idle_timeout). */
  idleTimeoutMs: number;
  /** Pooled upstream connections idle for this long are closed. */
  upstreamIdleMs: number;
  /** How often timeouts are checked (their resolution). */
  sweepMs: number;
  /** A connection to an instance not established within this counts as refused: the next instance is tried (gorouter's endpoint_dial_timeout). */
  connectTimeoutMs: number;
}

/**
 * What every connection of the edge shares: the dispatcher, the upstream
 * pool, the exchanges in flight, and a coarse clock the sweep advances, so
 * the hot path never reads the time just to check a timeout.
 */
export class EdgeCore {
  readonly pool = new UpstreamPool();
  readonly active = new Set<Exchange>();
  clock = Date.now();
  /** Shutting down: connections close after their current exchange. */
  draining = false;
  private readonly hosts = new Map<string, { hostname: string; port: number }>();

  constructor(
    readonly dispatch: Dispatcher,
    readonly timeouts: EdgeTimeouts,
    readonly isTrusted: (ip: string) => boolean,
    readonly logger: Logger,
  ) {}

  connect(address: string): Promise<UpstreamSocket> {
    let hp = this.hosts.get(address);
    if (!hp) {
      const colon = address.lastIndexOf(":");
      hp = { hostname: address.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(address.slice(colon + 1)) };
      if (this.hosts.size < 10_000) this.hosts.set(address, hp);
    }
    const data: UpstreamData = { address, exchange: null, idleSince: 0, pool: this.pool };
    return Bun.connect<UpstreamData>({ hostname: hp.hostname, port: hp.port, data, socket: UPSTREAM_HANDLERS }) as Promise<UpstreamSocket>;
  }

  /** Advances the clock and applies the timeouts. */
  sweep(): void {
    const now = (this.clock = Date.now());
    for (const ex of this.active) {
      if (ex.connectingSince > 0 && now - ex.connectingSince > this.timeouts.connectTimeoutMs) ex.connectTimedOut();
      else if (now - ex.sentAt > this.timeouts.requestTimeoutMs) ex.timedOut();
    }
    this.pool.sweep(now - this.timeouts.upstreamIdleMs);
  }
}

/** One handler set for every upstream socket: events go to the exchange using it; an idle socket just leaves the pool. */
const UPSTREAM_HANDLERS: Bun.SocketHandler<UpstreamData> = {
  data(s, chunk) {
    const ex = s.data.exchange;
    if (ex) ex.onUpstreamData(chunk);
    else s.terminate(); // bytes nobody asked for: the connection is out of step
  },
  drain(s) {
    s.data.exchange?.onUpstreamDrain();
  },
  end(s) {
    s.end();
  },
  close(s) {
    const ex = s.data.exchange;
    s.data.exchange = null;
    s.data.pool.forget(s);
    ex?.onUpstreamClose();
  },
  error() {
    // close follows
  },
};
