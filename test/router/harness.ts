import type { Server } from "bun";
import { silentLogger } from "../../src/log/index.ts";
import type { LogLineInput } from "../../src/model/index.ts";
import type { RouteTarget } from "../../src/opi/index.ts";
import { createRouterPart, type EdgeListener, type EdgeTimeouts } from "../../src/router/index.ts";

/** What a test upstream answers for a request (as JSON unless it returns a Response). */
export type UpstreamHandler = (req: Request, name: string) => Response | Promise<Response> | undefined;

/**
 * A small HTTP app on a random loopback port: answers JSON with its name, the
 * path and the headers it got; `/echo` echoes the body; `/stream` sends three
 * chunks; WebSocket messages come back prefixed with its name.
 */
export function startUpstream(name: string, handler?: UpstreamHandler, port = 0): Server<unknown> {
  return Bun.serve<{ name: string }>({
    hostname: "127.0.0.1",
    port,
    fetch(req, srv) {
      if (req.headers.get("upgrade") === "websocket" && srv.upgrade(req, { data: { name } })) return;
      const custom = handler?.(req, name);
      if (custom) return custom;
      const url = new URL(req.url);
      if (url.pathname === "/echo") return new Response(req.body, { headers: { "x-upstream": name } });
      return Response.json({ name, path: url.pathname + url.search, headers: Object.fromEntries(req.headers) }, { headers: { "x-upstream": name } });
    },
    websocket: {
      message(ws, m) {
        ws.send(`${ws.data.name}:${m}`);
      },
    },
  }) as unknown as Server<unknown>;
}

let seq = 0;
/** A route target for an upstream, with the fields the OPI contract requires. */
export function target(s: Server<unknown> | number, over: Partial<RouteTarget> = {}): RouteTarget {
  const port = typeof s === "number" ? s : s.port!;
  const i = seq++;
  return { process_guid: "pg", app_guid: "app-guid", index: 0, instance_guid: `instance-${i}`, address: `127.0.0.1:${port}`, path: "", weight: 1, ...over };
}

export interface RouterHarness {
  base: string;
  port: number;
  routes: Map<string, RouteTarget[]>;
  known: Set<string>;
  paths: Map<string, string[]>;
  logs: LogLineInput[];
  edge: EdgeListener;
  /** fetch through the router with a Host header. */
  get(host: string, path?: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** The router's edge on a random port, routing from in-memory maps, with an "API" behind it for unclaimed hosts. */
export function startRouter(opts: { trustedProxies?: string[]; timeouts?: Partial<EdgeTimeouts> } = {}): RouterHarness {
  const routes = new Map<string, RouteTarget[]>();
  const known = new Set<string>();
  const paths = new Map<string, string[]>();
  const logs: LogLineInput[] = [];
  const api = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(`api ${new URL(req.url).pathname}`, { headers: { "x-api": "1" } }) });
  const part = createRouterPart({
    domain: "apps.localhost",
    targets: (h) => routes.get(h) ?? [],
    knowsRoute: (h) => known.has(h) || routes.has(h),
    routePaths: (h) => paths.get(h) ?? [...new Set((routes.get(h) ?? []).map((t) => t.path))],
    logs: { append: (l) => void logs.push(l) },
    ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}),
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
    logger: silentLogger,
  });
  const edge: EdgeListener = part.edge.listen({ hostname: "127.0.0.1", port: 0, inner: `127.0.0.1:${api.port}` });
  const base = `http://127.0.0.1:${edge.port}`;
  return {
    base,
    port: edge.port,
    routes,
    known,
    paths,
    logs,
    edge,
    get: (host, path = "/", init = {}) => fetch(`${base}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), host } }),
    async close() {
      await edge.stop(true);
      api.stop(true);
    },
  };
}

/** A raw HTTP/1.1 client connection (for pipelining and byte-level checks). */
export async function rawConnection(port: number): Promise<{ send(s: string | Uint8Array): void; read(until: (text: string) => boolean): Promise<string>; close(): void; halfClose(): void; closed: Promise<void> }> {
  let text = "";
  let wake: (() => void) | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        text += Buffer.from(chunk).toString("latin1");
        wake?.();
      },
      close() {
        resolveClosed();
        wake?.();
      },
    },
  });
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  return {
    send: (s) => void sock.write(s),
    async read(until) {
      const deadline = Date.now() + 10_000;
      while (!until(text)) {
        if (isClosed || Date.now() > deadline) throw new Error(`connection ${isClosed ? "closed" : "timed out"}; got: ${text.slice(0, 500)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return text;
    },
    close: () => sock.end(),
    halfClose: () => sock.shutdown(),
    closed,
  };
}
