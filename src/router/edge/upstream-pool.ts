import type { Socket } from "bun";
import type { Exchange } from "./exchange.ts";

/** What an upstream socket carries: the exchange using it, if any. */
export interface UpstreamData {
  address: string;
  exchange: Exchange | null;
  idleSince: number;
  pool: UpstreamPool;
}

export type UpstreamSocket = Socket<UpstreamData>;

/** Idle connections kept per upstream address (nginx's `keepalive` in an upstream block). */
const MAX_IDLE_PER_ADDRESS = 128;

/**
 * HTTP/1.1 keep-alive connections to instances, by address. A connection
 * goes back only after a complete, well-framed response, so the next
 * request on it can never read the tail of an earlier one.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamSocket[]>();

  take(address: string): UpstreamSocket | null {
    const list = this.idle.get(address);
    while (list && list.length > 0) {
      const s = list.pop()!;
      if (s.readyState === 1) return s;
    }
    return null;
  }

  release(s: UpstreamSocket, now: number): void {
    s.data.exchange = null;
    s.data.idleSince = now;
    let list = this.idle.get(s.data.address);
    if (!list) this.idle.set(s.data.address, (list = []));
    if (list.length >= MAX_IDLE_PER_ADDRESS) {
      s.end();
      return;
    }
    list.push(s);
  }

  /** A connection closed: never hand it out again. */
  forget(s: UpstreamSocket): void {
    const list = this.idle.get(s.data.address);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(s.data.address);
  }

  /** Closes connections idle since before `cutoff`. */
  sweep(cutoff: number): void {
    for (const [address, list] of this.idle) {
      const keep = list.filter((s) => {
        if (s.data.idleSince >= cutoff && s.readyState === 1) return true;
        s.end();
        return false;
      });
      if (keep.length) this.idle.set(address, keep);
      else this.idle.delete(address);
    }
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const s of list) s.end();
    this.idle.clear();
  }
}
