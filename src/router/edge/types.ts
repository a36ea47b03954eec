import type { RequestHead, ResponseHead } from "./http-head.ts";

/** The client side of a connection as the edge saw it. */
export interface ClientInfo {
  remoteAddress: string;
  remotePort: number;
  /** The peer is a configured trusted proxy: its X-Forwarded-* are kept. */
  trusted: boolean;
  /** The connection came in over TLS (X-Forwarded-Proto: https). */
  secure: boolean;
}

/** Where one attempt of a request goes: "host:port". */
export interface UpstreamTarget {
  address: string;
}

/** A complete answer the edge writes itself (router errors): status line, header lines, body. */
export interface LocalAnswer {
  status: number;
  /** gorouter's X-Cf-RouterError value (unknown_route, no_endpoints, endpoint_failure, ...). */
  routerError: string;
  /** Extra header lines, each ending in CRLF. */
  headers: string;
  body: string;
}

/** How an exchange ended, for the access log. */
export interface Outcome {
  status: number;
  /** Request body bytes received from the client. */
  bytesReceived: number;
  /** Response body bytes sent to the client. */
  bytesSent: number;
  /** The upstream that answered (or was tried last); null when none was tried. */
  target: UpstreamTarget | null;
  /** Why the router answered itself ("" when the app answered). */
  routerError: string;
}

/**
 * What the edge asks the router for each request. The edge owns bytes,
 * framing, pooling, retries and timeouts; the plan owns routing decisions
 * and the headers gorouter sets. A route service is a plan whose first
 * target is the service and whose request head carries X-CF-Forwarded-Url.
 */
export interface ProxyPlan {
  /** The next upstream to try; null when none is left (the edge answers `failure`). */
  next(): UpstreamTarget | null;
  /** The request head for the current target, CRLFCRLF included. */
  requestHead(): string;
  /** Extra response header lines for the client (each ending CRLF), given the app's response head. */
  responseLines(res: ResponseHead): string;
  /** The answer when no upstream answered. */
  failure(kind: "unavailable" | "timeout"): LocalAnswer;
  /** The exchange is over. */
  done(outcome: Outcome): void;
}

export type Dispatch = { kind: "answer"; answer: LocalAnswer; done?: (o: Outcome) => void } | { kind: "proxy"; plan: ProxyPlan };

/** The router side of the edge: one decision per request head. */
export type Dispatcher = (req: RequestHead, client: ClientInfo) => Dispatch;
