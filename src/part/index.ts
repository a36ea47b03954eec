import type { Server } from "bun";
import type { Hono } from "hono";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Store } from "../store/index.ts";

/**
 * The part contract, low in the layers so every part (registry, st8ge, opi,
 * cc, sink, router) can implement it without importing the CLI that wires
 * them (src/cli/parts.ts is the composition root).
 */

/** What every part gets from the appliance when it is wired in. */
export interface PartContext {
  config: Config;
  store: Store;
  logger: Logger;
  tokenKey: string;
  /**
   * The base URL of links handed out (e.g. http://127.0.0.1:7080): config externalUrl when set; inside a
   * request, a trusted proxy's forwarded scheme and host or the listener it came in on (http or https);
   * outside requests, the plain listener.
   */
  baseUrl: () => string;
}

/**
 * The most a request to matching routes may send. The server refuses a larger
 * Content-Length before reading a byte and counts chunked bodies as they
 * arrive; routes no part names get the server's small default.
 */
export interface BodyLimit {
  /** HTTP method, upper case ("PUT"), or "*" for any. */
  method: string;
  /** Matched against the URL path. */
  path: RegExp;
  maxBytes: number;
}

/**
 * A part as the appliance runs it: optional HTTP routes merged into the one
 * server, an optional front-door handler that may claim a request before the
 * API (the router does this by Host), and a start/stop lifecycle.
 */
export interface AppliancePart {
  name: string;
  routes?: Hono;
  /** Return a Response (or promise) to claim the request, undefined to pass. */
  frontDoor?: (req: Request, server: Server<unknown>) => Response | Promise<Response> | undefined;
  websocket?: Bun.WebSocketHandler<unknown>;
  /** Routes of this part that take bodies above the server's default limit (or want a smaller one). */
  bodyLimits?: BodyLimit[];
  /**
   * Optional: the part owns the appliance's public listeners (the router's
   * HTTP edge; HTTPS with `tls`). It listens on hostname:port and passes every
   * request it does not claim to the appliance's HTTP server at `inner`
   * ("127.0.0.1:<port>"), with the client's address as the last
   * X-Forwarded-For entry and its scheme in X-Forwarded-Proto (the inner
   * server's own peer is always the edge).
   */
  edge?: {
    listen(o: { hostname: string; port: number; inner?: string; tls?: { cert: string; key: string } }): { readonly port: number; stop(force?: boolean): Promise<void> };
  };
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
