import type { Server, ServerWebSocket } from "bun";
import type { Logger } from "../log/index.ts";
import type { RouteTarget } from "../opi/index.ts";
import { HOP, pathAndQuery } from "./proxy.ts";

/** What an upgraded client connection carries: where its upstream is. */
export interface WsBridgeData {
  router: true;
  url: string;
  headers: Record<string, string>;
  upstream?: WebSocket;
  queue: (string | BufferSource)[];
}

const SKIP = new Set(["host", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept", "upgrade", "connection", "content-length"]);

/** Upgrades the client and remembers its instance; the bridge opens when the client socket does. */
export function upgrade(req: Request, server: Server<unknown>, host: string, target: RouteTarget): boolean {
  // Headers are copied, not edited: the upgrade itself still needs Upgrade/Connection/Sec-WebSocket-*.
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    if (!SKIP.has(k) && !HOP.includes(k)) headers[k] = v;
  });
  const originalHost = req.headers.get("host") ?? host;
  headers.host = originalHost;
  const client = server.requestIP(req)?.address;
  if (client) headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${client}` : client;
  headers["x-forwarded-proto"] ??= "http";
  headers["x-forwarded-host"] ??= originalHost;
  headers["x-vcap-request-id"] = crypto.randomUUID();
  const data: WsBridgeData = { router: true, url: `ws://${target.address}${pathAndQuery(req.url)}`, headers, queue: [] };
  return server.upgrade(req, { data });
}

/** Relays frames both ways between the client and the instance; a close on either side closes the other. */
export function websocketHandler(logger: Logger): Bun.WebSocketHandler<unknown> {
  return {
    open(ws: ServerWebSocket<unknown>) {
      const d = ws.data as WsBridgeData;
      const up = new WebSocket(d.url, { headers: d.headers } as unknown as string[]);
      up.binaryType = "arraybuffer";
      d.upstream = up;
      up.onopen = () => {
        for (const m of d.queue.splice(0)) up.send(m);
      };
      up.onmessage = (e) => {
        ws.send(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
      };
      up.onclose = (e) => {
        ws.close(e.code === 1005 || e.code === 1006 ? 1011 : e.code, e.reason);
      };
      up.onerror = () => {
        logger.debug("websocket upstream failed", { url: d.url });
        ws.close(1011, "upstream unavailable");
      };
    },
    message(ws: ServerWebSocket<unknown>, msg: string | Buffer) {
      const d = ws.data as WsBridgeData;
      const up = d.upstream;
      const frame = msg as string | BufferSource;
      if (up && up.readyState === WebSocket.OPEN) up.send(frame);
      else d.queue.push(frame);
    },
    close(ws: ServerWebSocket<unknown>, code: number, reason: string) {
      const up = (ws.data as WsBridgeData).upstream;
      if (up && up.readyState <= WebSocket.OPEN) up.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    },
  };
}
