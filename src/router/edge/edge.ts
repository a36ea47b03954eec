import type { Logger } from "../../log/index.ts";
import { ClientConnection } from "./client-connection.ts";
import { EdgeCore, type EdgeTimeouts } from "./edge-core.ts";
import type { Dispatcher } from "./types.ts";

export interface EdgeOptions {
  dispatch: Dispatcher;
  timeouts: EdgeTimeouts;
  isTrusted: (ip: string) => boolean;
  logger: Logger;
}

export interface EdgeListener {
  readonly port: number;
  /** Stop accepting; with `force`, close every connection now, else let in-flight exchanges finish. */
  stop(force?: boolean): Promise<void>;
}

/**
 * The router's HTTP/1.1 edge: a plain TCP listener (Bun.listen) that reads
 * request heads itself and moves bodies as bytes, with keep-alive pools to
 * upstreams. No Request/Response/Headers objects on the way: that is what
 * makes the hop cheap (see ARCHITECTURE.md, "router edge").
 */
export function listenEdge(opts: EdgeOptions, hostname: string, port: number, tls?: { cert: string; key: string }): EdgeListener {
  const core = new EdgeCore(opts.dispatch, opts.timeouts, opts.isTrusted, opts.logger);
  const clients = new Set<ClientConnection>();
  const listener = Bun.listen<ClientConnection>({
    hostname,
    port,
    // A client that half-closes after its request (FIN) still gets the answer; onEnd closes after it.
    allowHalfOpen: true,
    ...(tls ? { tls } : {}),
    socket: {
      open(s) {
        const c = new ClientConnection(s, core, tls !== undefined);
        s.data = c;
        clients.add(c);
      },
      data(s, chunk) {
        s.data.onData(chunk);
      },
      drain(s) {
        s.data.onDrain();
      },
      end(s) {
        s.data.onEnd();
      },
      close(s) {
        clients.delete(s.data);
        s.data.onClose();
      },
      error() {
        // close follows
      },
    },
  });
  const timer = setInterval(() => {
    core.sweep();
    const cutoff = core.clock - opts.timeouts.idleTimeoutMs;
    for (const c of clients) c.closeIfIdleSince(cutoff);
  }, opts.timeouts.sweepMs);
  timer.unref();
  let forced = false;
  return {
    port: listener.port,
    async stop(force = false) {
      core.draining = true;
      if (!force && !forced) {
        listener.stop(false);
        for (const c of clients) c.closeIfIdleSince(Number.POSITIVE_INFINITY);
        // In-flight exchanges finish (the caller bounds the wait with its own grace period and then forces).
        const deadline = Date.now() + opts.timeouts.requestTimeoutMs;
        while (!forced && core.active.size > 0 && Date.now() < deadline) await Bun.sleep(20);
        if (forced) return;
      }
      forced = true;
      clearInterval(timer);
      listener.stop(true);
      for (const c of [...clients]) c.abort();
      core.pool.closeAll();
    },
  };
}
