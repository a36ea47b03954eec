/**
 * Router contract: `createRouterPart({domain, targets, knowsRoute, logger})`
 * returns an AppliancePart whose front door claims requests by Host (without
 * port): any name under the route domain (default `apps.localhost`, so
 * `myapp.apps.localhost:7080` needs no DNS) or a host some app routes. Claimed
 * requests go round-robin to the route's RUNNING instances (bodies streamed
 * both ways, X-Forwarded-For/Proto/Host kept, X-Vcap-Request-Id added,
 * WebSocket upgrades bridged, a refused connection retried on the next
 * instance); 404 for an unknown route, 503 when no instance is up, 502 when
 * none answers. Everything else falls through to the appliance's API.
 */
import type { Server } from "bun";
import type { AppliancePart } from "../part/index.ts";
import type { Logger } from "../log/index.ts";
import type { RouteTarget } from "../opi/index.ts";
import { requestHost, underDomain } from "./host.ts";
import { badGateway, noEndpoints, unknownRoute } from "./messages.ts";
import { HttpProxy } from "./proxy.ts";
import { upgrade, websocketHandler } from "./websocket.ts";

export { normalizeHost, requestHost, underDomain } from "./host.ts";

export interface RouterOptions {
  /** Route domain; names under it are always the router's (default apps.localhost). */
  domain: string;
  /** RUNNING instances for a host (OpiBackend.routeTargets). */
  targets: (host: string) => RouteTarget[];
  /** More route domains (the Cloud Controller's created ones): hosts equal to or under them are the router's too. */
  domains?: () => readonly string[];
  /** Whether some desired app routes the host at all (503 vs 404); defaults to "has targets". */
  knowsRoute?: (host: string) => boolean;
  logger: Logger;
}

export function createRouterPart(opts: RouterOptions): AppliancePart {
  const logger = opts.logger.child({ part: "router" });
  const knowsRoute = opts.knowsRoute ?? ((h: string) => opts.targets(h).length > 0);
  const proxy = new HttpProxy({ targets: opts.targets, knowsRoute, logger });

  const underAny = (host: string) => opts.domains?.().some((d) => host === d || underDomain(host, d)) ?? false;
  const claims = (host: string) => host !== "" && (underDomain(host, opts.domain) || knowsRoute(host) || underAny(host));

  return {
    name: "router",
    frontDoor(req: Request, server: Server<unknown>) {
      const host = requestHost(req);
      if (!claims(host)) return undefined;
      if ((req.headers.get("upgrade") ?? "").toLowerCase() === "websocket") {
        const id = crypto.randomUUID();
        const target = proxy.ordered(host)[0];
        if (!target) return knowsRoute(host) ? noEndpoints(host, id) : unknownRoute(host, id);
        if (upgrade(req, server, host, target)) return new Response(null, { status: 101 }); // Bun ignores it after an upgrade
        return new Response("WebSocket upgrade failed\n", { status: 400 });
      }
      return proxy.handle(req, server, host).catch((err: unknown) => {
        logger.warn("proxying failed", { host, error: err });
        return badGateway(crypto.randomUUID());
      });
    },
    websocket: websocketHandler(logger),
  };
}
