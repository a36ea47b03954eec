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
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
