import type { ClientInfo } from "./edge/types.ts";
import { keptHeaderLines, type RequestHead } from "./edge/http-head.ts";

/** X-Forwarded-* as the router sends them on: incoming values count only from a trusted proxy. */
export interface Forwarded {
  for: string;
  proto: string;
  host: string;
}

/**
 * gorouter appends the peer to X-Forwarded-For and keeps X-Forwarded-Proto
 * when its peer is a load balancer it trusts; from anyone else those
 * headers could be forged, so they are replaced by what the router saw.
 */
export function forwarded(req: RequestHead, client: ClientInfo): Forwarded {
  const peer = client.remoteAddress;
  if (client.trusted) {
    return {
      for: req.xForwardedFor ? `${req.xForwardedFor}, ${peer}` : peer,
      proto: req.xForwardedProto || (client.secure ? "https" : "http"),
      host: req.xForwardedHost || req.host,
    };
  }
  return { for: peer, proto: client.secure ? "https" : "http", host: req.host };
}

/**
 * The request head for an upstream: the request line and header lines as
 * received (path, Host and everything else unchanged) minus hop-by-hop and
 * router-owned headers, then the router's own lines (`extra`, each ending CRLF).
 */
export function requestHead(req: RequestHead, fwd: Forwarded, extra: string): string {
  const upgrade = req.upgrade ? `Connection: Upgrade\r\nUpgrade: ${req.upgradeValue}\r\n` : "";
  return `${req.method} ${req.target} ${req.version}\r\n${keptHeaderLines(req)}${upgrade}X-Forwarded-For: ${fwd.for}\r\nX-Forwarded-Proto: ${fwd.proto}\r\nX-Forwarded-Host: ${fwd.host}\r\n${extra}\r\n`;
}
