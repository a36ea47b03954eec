import type { Socket } from "bun";
import type { EdgeCore } from "./edge-core.ts";
import { Exchange } from "./exchange.ts";
import { HEAD_END, HeadError, MAX_HEAD_BYTES, parseRequestHead, withoutHop, type RequestHead, type ResponseHead } from "./http-head.ts";
import { flushQueue, pauseReading, resumeReading, writeOrQueue, writeSpanOrQueue } from "./socket-flow.ts";
import type { ClientInfo, LocalAnswer } from "./types.ts";

export type ClientSocket = Socket<ClientConnection>;

const REASONS: Record<number, string> = { 400: "Bad Request", 404: "Not Found", 408: "Request Timeout", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 499: "Client Closed Request", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" };

/**
 * One client connection: reads request heads (pipelined requests wait their
 * turn in `buf`), hands each to the dispatcher, and runs one exchange at a
 * time. Writes to the client queue under backpressure and pause the
 * upstream until the client drains.
 */
export class ClientConnection {
  private buf: Buffer | null = null;
  private exchange: Exchange | null = null;
  private readonly out: Uint8Array[] = [];
  private processing = false;
  private paused = false;
  private closing = false;
  private readEnded = false;
  closed = false;
  lastActive: number;
  readonly info: ClientInfo;

  constructor(
    private readonly socket: ClientSocket,
    private readonly core: EdgeCore,
    secure = false,
  ) {
    this.lastActive = core.clock;
    const ip = socket.remoteAddress;
    this.info = { remoteAddress: ip, remotePort: socket.remotePort, trusted: core.isTrusted(ip), secure };
  }

  /** Idle = connected with no request in flight. */
  get idle(): boolean {
    return this.exchange === null;
  }

  onData(chunk: Buffer): void {
    this.lastActive = this.core.clock;
    if (this.closing) return;
    const ex = this.exchange;
    if (ex && this.buf === null && ex.wantsClientBytes()) {
      const n = ex.fromClient(chunk, 0, chunk.length);
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    // Pipelined requests beyond one head's worth wait with the socket paused.
    if (this.exchange && this.buf.length > MAX_HEAD_BYTES) this.pauseReading();
    this.process();
  }

  private process(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.buf !== null && !this.closing) {
        const ex = this.exchange;
        if (ex) {
          if (!ex.wantsClientBytes()) break;
          const n = ex.fromClient(this.buf, 0, this.buf.length);
          this.buf = n < this.buf.length ? this.buf.subarray(n) : null;
          continue;
        }
        // Empty lines before a request line are allowed (RFC 9112 2.2).
        while (this.buf !== null && (this.buf[0] === 13 || this.buf[0] === 10)) this.buf = this.buf.length > 1 ? this.buf.subarray(1) : null;
        if (this.buf === null) break;
        // Not HTTP at all (a TLS ClientHello starts with 0x16): answer at once, as an HTTP server does,
        // so a client probing for TLS (skopeo, docker) falls back to plain HTTP instead of waiting.
        const c0 = this.buf[0]!;
        if (c0 < 65 || c0 > 90) {
          this.reject(400, "Bad Request");
          break;
        }
        const end = this.buf.indexOf(HEAD_END);
        if (end < 0) {
          if (this.buf.length > MAX_HEAD_BYTES) this.reject(431, "Request header too large");
          break;
        }
        let req: RequestHead;
        try {
          req = parseRequestHead(this.buf.toString("latin1", 0, end));
        } catch (err) {
          this.reject(400, err instanceof HeadError ? err.message : "Bad Request");
          break;
        }
        this.buf = end + 4 < this.buf.length ? this.buf.subarray(end + 4) : null;
        const d = this.core.dispatch(req, this.info);
        if (d.kind === "answer") {
          // A request answered by the router itself: keep the connection only if no body must be skipped.
          const bodyLeft = req.framing.kind !== "none";
          this.writeAnswer(d.answer, req, bodyLeft);
          d.done?.({ status: d.answer.status, bytesReceived: 0, bytesSent: 0, target: null, routerError: d.answer.routerError });
          if (bodyLeft || !req.keepAlive) this.endSoon();
          continue;
        }
        const exchange = new Exchange(this.core, this, req, d.plan);
        this.exchange = exchange;
        if (this.buf !== null) {
          const n = exchange.fromClient(this.buf, 0, this.buf.length);
          this.buf = n < this.buf.length ? this.buf.subarray(n) : null;
        }
        exchange.start();
      }
    } finally {
      this.processing = false;
    }
    if (this.buf === null && this.paused && (!this.exchange || this.exchange.wantsClientBytes())) this.resumeReading();
    if (this.readEnded && this.exchange === null && !this.closing) this.endSoon();
  }

  /** The client's response head (latin1, CRLFCRLF included): the app's head without hop-by-hop lines, plus the router's. */
  responseHead(req: RequestHead, res: ResponseHead, extra: string, close: boolean): string {
    const head = res.hasHop ? withoutHop(res) : res.head;
    const conn = close ? "Connection: close\r\n" : req.version === "HTTP/1.0" ? "Connection: keep-alive\r\n" : "";
    return `${head}\r\n${extra}${conn}\r\n`;
  }

  /** A response the router writes itself. */
  writeAnswer(a: LocalAnswer, req: RequestHead | null, close: boolean): void {
    const body = Buffer.from(a.body, "utf8");
    const conn = close || (req !== null && !req.keepAlive) ? "Connection: close\r\n" : req?.version === "HTTP/1.0" ? "Connection: keep-alive\r\n" : "";
    const head = `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nX-Cf-Routererror: ${a.routerError}\r\n${a.headers}${conn}\r\n`;
    this.write(Buffer.concat([Buffer.from(head, "latin1"), req?.method === "HEAD" ? Buffer.alloc(0) : body]));
  }

  private reject(status: number, message: string): void {
    this.writeAnswer({ status, routerError: "", headers: "", body: `${status} ${REASONS[status] ?? "Error"}: ${message}\n` }, null, true);
    this.endSoon();
  }

  /** Writes to the client; false when some of it had to be queued (the caller pauses its source). */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    return writeOrQueue(this.socket, this.out, bytes);
  }

  /** Writes `buf[0..length)` of a reused buffer (see writeSpanOrQueue). */
  writeSpan(buf: Uint8Array, length: number): boolean {
    if (this.closed) return true;
    return writeSpanOrQueue(this.socket, this.out, buf, length);
  }

  onDrain(): void {
    if (!flushQueue(this.socket, this.out)) return;
    if (this.closing) this.socket.end();
    else this.exchange?.onClientDrain();
  }

  startTunnel(ex: Exchange): void {
    // Bytes the client sent after its upgrade request belong to the tunnel.
    if (this.buf !== null) {
      const b = this.buf;
      this.buf = null;
      ex.fromClient(b, 0, b.length);
    }
  }

  exchangeDone(ex: Exchange, keepAlive: boolean): void {
    if (this.exchange !== ex) return;
    this.exchange = null;
    this.lastActive = this.core.clock;
    if (!keepAlive || this.core.draining || (this.readEnded && this.buf === null)) return this.endSoon();
    this.process();
  }

  /**
   * The client half-closed (sent FIN after its request, as `nc` and some
   * HTTP/1.0 clients do): answer what is in flight, then close.
   */
  onEnd(): void {
    this.readEnded = true;
    if (this.exchange === null && this.buf === null) this.endSoon();
    else if (this.exchange === null) this.process();
  }

  /** Close once queued output is written. */
  private endSoon(): void {
    if (this.closing) return;
    this.closing = true;
    this.buf = null;
    if (this.out.length === 0) this.socket.end();
  }

  onClose(): void {
    this.closed = true;
    this.closing = true;
    this.buf = null;
    this.out.length = 0;
    const ex = this.exchange;
    this.exchange = null;
    ex?.clientGone();
  }

  /** Shutdown: drop the connection and whatever it has in flight. */
  abort(): void {
    const ex = this.exchange;
    this.exchange = null;
    ex?.clientGone();
    this.socket.terminate();
  }

  /** Idle for too long (the edge's sweep). */
  closeIfIdleSince(cutoff: number): void {
    if (this.exchange === null && this.lastActive < cutoff && !this.closing) this.endSoon();
  }

  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      pauseReading(this.socket);
    }
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false;
      resumeReading(this.socket);
    }
  }
}
