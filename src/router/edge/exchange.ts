import { BodyFramer } from "./body-framing.ts";
import type { ClientConnection } from "./client-connection.ts";
import type { EdgeCore } from "./edge-core.ts";
import { HEAD_END, HeadError, MAX_HEAD_BYTES, parseResponseHead, type RequestHead, type ResponseHead } from "./http-head.ts";
import { copyBytes, flushQueue, pauseReading, resumeReading, SCRATCH, writeOrQueue, writeSpanOrQueue } from "./socket-flow.ts";
import type { ProxyPlan, UpstreamTarget } from "./types.ts";
import type { UpstreamSocket } from "./upstream-pool.ts";

/** Request body bytes kept for a retry on another instance; past this a failed attempt is answered 502. */
export const REPLAYABLE_BODY_BYTES = 1024 * 1024;
/** Request body buffered while connecting before the client is paused. */
const BUFFER_BEFORE_CONNECT = 256 * 1024;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const NO_BODY: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const NO_BODY_FRAMER = new BodyFramer();
/** Attempts per request (gorouter: 3 by default; a refused connection moves on to the next instance). */
export const MAX_ATTEMPTS = 5;

/**
 * One request and its response through one upstream connection at a time:
 * the head is rewritten by the plan, bodies pass through as bytes with
 * their own framing, backpressure both ways, retries while nothing of the
 * response has arrived and the request body is still held, and a 101
 * answer turns the exchange into a tunnel (WebSocket).
 */
export class Exchange {
  readonly reqFramer: BodyFramer;
  private readonly resFramer = new BodyFramer();
  upstream: UpstreamSocket | null = null;
  private target: UpstreamTarget | null = null;
  private attempts = 0;
  private reused = false;
  private connecting = false;
  /** Bytes waiting for the current upstream (not connected yet, or backpressured). */
  private backlog: Uint8Array[] = [];
  /** Copies of the request body so far, for a retry; null once too large (NO_BODY until a body byte arrives). */
  private kept: Uint8Array[] | null = NO_BODY;
  private keptBytes = 0;
  private responded = false;
  private resHeadBuf: Uint8Array | null = null;
  private res: ResponseHead | null = null;
  private headSent = false;
  private status = 0;
  private pausedClient = false;
  private pausedUpstream = false;
  private routerError = "";
  tunnel = false;
  finished = false;
  /** When the request went out (edge clock, ms), for the request timeout. */
  sentAt = 0;
  /** When the pending connection attempt began (edge clock, ms); 0 when none is pending. */
  connectingSince = 0;
  /** Bumped per connection attempt: a late answer to an abandoned attempt is ignored. */
  private attemptSeq = 0;

  constructor(
    private readonly core: EdgeCore,
    private readonly client: ClientConnection,
    readonly req: RequestHead,
    private readonly plan: ProxyPlan,
  ) {
    // Most requests have no body: they share one finished framer.
    if (req.framing.kind === "none") this.reqFramer = NO_BODY_FRAMER;
    else {
      this.reqFramer = new BodyFramer();
      this.reqFramer.reset(req.framing);
    }
  }

  /** Whether bytes from the client belong to this exchange (request body not over, or a tunnel). */
  wantsClientBytes(): boolean {
    return this.tunnel || !this.reqFramer.done;
  }

  /** Takes request body (or tunnel) bytes from the client; returns how many belong to this exchange. */
  fromClient(buf: Uint8Array, off: number, end: number): number {
    if (this.finished) return 0;
    const n = this.tunnel ? end - off : this.reqFramer.consume(buf, off, end);
    // A whole chunk passes as it is: a Buffer view costs more than the bytes it saves copying.
    if (n > 0) this.toUpstream(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
    return n;
  }

  private toUpstream(bytes: Uint8Array): void {
    if (!this.tunnel && this.kept) {
      this.keptBytes += bytes.length;
      if (this.keptBytes > REPLAYABLE_BODY_BYTES) this.kept = null;
      else (this.kept === NO_BODY ? (this.kept = []) : this.kept).push(copyBytes(bytes));
    }
    const up = this.upstream;
    if (!up || this.connecting) {
      // Not connected yet: the body waits in `kept` (always held this early) and goes out on connect.
      if (!this.kept) this.backlog.push(copyBytes(bytes));
      if (this.keptBytes > BUFFER_BEFORE_CONNECT) this.pauseClient();
      return;
    }
    if (!writeOrQueue(up, this.backlog, bytes)) this.pauseClient();
  }

  start(): void {
    this.core.active.add(this);
    this.attempt(false);
  }

  /** Next target (or the same one on a fresh connection after a stale pooled one failed). */
  private attempt(sameTargetFresh: boolean): void {
    if (!sameTargetFresh) {
      const t = this.attempts < MAX_ATTEMPTS ? this.plan.next() : null;
      if (!t) return this.fail("unavailable");
      this.target = t;
    }
    this.attempts++;
    const target = this.target!;
    const pooled = sameTargetFresh ? null : this.core.pool.take(target.address);
    this.sentAt = this.core.clock;
    if (pooled) {
      this.reused = true;
      this.attach(pooled);
      return;
    }
    this.reused = false;
    this.connecting = true;
    this.connectingSince = this.core.clock;
    const seq = ++this.attemptSeq;
    this.core.connect(target.address).then(
      (s) => {
        if (this.finished || seq !== this.attemptSeq) {
          // Abandoned (timed out, client gone): the fresh connection is still good for someone else.
          this.core.pool.release(s, this.core.clock);
          return;
        }
        this.connecting = false;
        this.connectingSince = 0;
        this.attach(s);
      },
      (err: unknown) => {
        if (this.finished || seq !== this.attemptSeq) return;
        this.connecting = false;
        this.connectingSince = 0;
        this.core.logger.debug("instance did not accept the connection", { address: target.address, error: err });
        this.retryOrFail();
      },
    );
  }

  private attach(s: UpstreamSocket): void {
    this.upstream = s;
    s.data.exchange = this;
    const head = this.plan.requestHead();
    const body = this.kept ?? this.backlog;
    this.backlog = [];
    let ok: boolean;
    if (body.length === 0 && head.length <= SCRATCH.length) {
      // The common case, a request without body: the head goes out through the scratch buffer (latin1 = the bytes received).
      const n = SCRATCH.write(head, 0, "latin1");
      ok = writeSpanOrQueue(s, this.backlog, SCRATCH, n);
    } else {
      let size = head.length;
      for (const b of body) size += b.length;
      const out = Buffer.allocUnsafe(size);
      let at = out.write(head, 0, "latin1");
      for (const b of body) {
        out.set(b, at);
        at += b.length;
      }
      ok = writeOrQueue(s, this.backlog, out);
    }
    if (!ok) this.pauseClient();
    else this.resumeClient();
  }

  private retryOrFail(): void {
    if (this.kept && !this.responded) this.attempt(false);
    else this.fail("unavailable");
  }

  onUpstreamDrain(): void {
    if (this.upstream && flushQueue(this.upstream, this.backlog)) this.resumeClient();
  }

  onClientDrain(): void {
    if (this.pausedUpstream && this.upstream) {
      this.pausedUpstream = false;
      resumeReading(this.upstream);
    }
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.finished) return;
    this.responded = true;
    if (this.tunnel) return this.toClient(chunk);
    if (this.res) return this.body(chunk, 0);
    let buf = this.resHeadBuf ? Buffer.concat([this.resHeadBuf, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) return this.badUpstream("response head too large");
        this.resHeadBuf = copyBytes(buf);
        return;
      }
      this.resHeadBuf = null;
      let res: ResponseHead;
      try {
        res = parseResponseHead(buf.toString("latin1", 0, end), this.req.method);
      } catch (err) {
        return this.badUpstream(err instanceof HeadError ? err.message : String(err));
      }
      if (res.status >= 100 && res.status < 200 && !(res.status === 101 && this.req.upgrade)) {
        // Interim answers (100 Continue, 103) go to the client as they are; the final one follows.
        this.client.write(buf.subarray(0, end + 4));
        buf = buf.subarray(end + 4);
        if (buf.length === 0) return;
        continue;
      }
      this.res = res;
      this.status = res.status;
      this.kept = null;
      if (res.status === 101) return this.startTunnel(buf.subarray(0, end + 4), buf.subarray(end + 4));
      this.resFramer.reset(res.framing);
      return this.body(buf, end + 4, this.client.responseHead(this.req, res, this.plan.responseLines(res), this.resFramer.closeDelimited || !this.req.keepAlive || !this.reqFramer.done));
    }
  }

  /** Response body bytes from `off`; `head` (the client's response head, latin1) goes out first, in the same write. */
  private body(buf: Buffer, off: number, head?: string): void {
    let n: number;
    try {
      n = this.resFramer.consume(buf, off, buf.length);
    } catch (err) {
      return this.badUpstream(`bad response framing: ${(err as Error).message}`);
    }
    if (head !== undefined) {
      this.headSent = true;
      // Head and first body bytes in one write, composed in the scratch buffer (no allocation, no Buffer views).
      const total = head.length + n;
      const out = total <= SCRATCH.length ? SCRATCH : Buffer.allocUnsafe(total);
      out.write(head, 0, "latin1");
      if (n > 0) buf.copy(out, head.length, off, off + n);
      if (!this.client.writeSpan(out, total)) this.pauseUpstream();
    } else if (n > 0) this.toClient(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
    if (this.resFramer.done) {
      // Bytes past the end of the response: the connection is out of step and must not be reused.
      this.finish(off + n < buf.length);
    }
  }

  private toClient(bytes: Uint8Array): void {
    if (!this.client.write(bytes)) this.pauseUpstream();
  }

  private pauseUpstream(): void {
    if (this.upstream && !this.pausedUpstream) {
      this.pausedUpstream = true;
      pauseReading(this.upstream);
    }
  }

  private startTunnel(head: Uint8Array, rest: Uint8Array): void {
    this.tunnel = true;
    this.headSent = true;
    this.core.active.delete(this);
    this.toClient(head);
    if (rest.length) this.toClient(rest);
    this.client.startTunnel(this);
  }

  onUpstreamClose(): void {
    const up = this.upstream;
    this.upstream = null;
    if (this.finished) return;
    if (up) up.data.exchange = null;
    if (this.tunnel) return this.finish(true);
    if (!this.responded && this.reused && this.kept && this.attempts < MAX_ATTEMPTS) {
      // A pooled connection the instance had just closed (the keep-alive race): try a fresh one.
      this.attempt(true);
      return;
    }
    // A fresh connection closed with no answer: the instance may have acted on the request, so
    // only a request that is safe to repeat goes to another instance (as gorouter retries).
    if (!this.responded && IDEMPOTENT.has(this.req.method)) return this.retryOrFail();
    if (!this.responded) return this.fail("unavailable");
    if (!this.res) return this.badUpstream("connection closed before a full response head");
    if (this.resFramer.closeDelimited) return this.finish(true);
    // Mid-body: the client already has the head; only closing tells it the response is cut short.
    this.core.logger.debug("instance closed the connection mid-response", { address: this.target?.address });
    this.finish(true, true);
  }

  /** The instance sent something that is not HTTP or went away mid-head. */
  private badUpstream(reason: string): void {
    this.core.logger.debug("bad response from instance", { address: this.target?.address, reason });
    this.killUpstream();
    this.fail("unavailable");
  }

  /** The client went away: drop the upstream connection (it may be mid-response), log 499 as gorouter does. */
  clientGone(): void {
    if (this.finished) return;
    if (!this.headSent) this.status = 499;
    this.killUpstream();
    this.finish(true, true);
  }

  /** Connect timeout (from the edge's sweep): give up on this instance as if it refused. */
  connectTimedOut(): void {
    if (this.finished || !this.connecting) return;
    this.attemptSeq++;
    this.connecting = false;
    this.connectingSince = 0;
    this.core.logger.debug("instance did not accept the connection in time", { address: this.target?.address });
    this.retryOrFail();
  }

  /** Request timeout (from the edge's sweep): no response head in time. */
  timedOut(): void {
    if (this.finished || this.res) return;
    this.killUpstream();
    this.fail("timeout");
  }

  /** Detaches and aborts the upstream connection (its state is unknown: never reused). */
  private killUpstream(): void {
    const up = this.upstream;
    this.upstream = null;
    if (!up) return;
    up.data.exchange = null;
    up.terminate();
  }

  private fail(kind: "unavailable" | "timeout"): void {
    if (this.finished) return;
    if (this.headSent) return this.finish(true, true);
    const answer = this.plan.failure(kind);
    this.status = answer.status;
    this.routerError = answer.routerError;
    this.headSent = true;
    this.client.writeAnswer(answer, this.req, !this.reqFramer.done);
    this.finish(true, false, true);
  }

  /**
   * The exchange is over: the upstream goes back to the pool if it can be
   * reused, the access log gets its line, the client connection moves on.
   */
  private finish(dropUpstream: boolean, cutShort = false, answered = false): void {
    if (this.finished) return;
    this.finished = true;
    this.core.active.delete(this);
    const up = this.upstream;
    this.upstream = null;
    if (up) {
      up.data.exchange = null;
      if (this.pausedUpstream) resumeReading(up);
      const reusable = !dropUpstream && !answered && this.res !== null && this.res.keepAlive && this.reqFramer.done && this.backlog.length === 0 && !this.tunnel;
      if (reusable) this.core.pool.release(up, this.core.clock);
      else up.end();
    }
    this.resumeClient();
    this.plan.done({
      status: this.status,
      bytesReceived: this.reqFramer.bytes,
      bytesSent: this.resFramer.bytes,
      target: this.target,
      routerError: this.routerError,
    });
    const closeClient = cutShort || !this.req.keepAlive || !this.reqFramer.done || (!answered && (this.tunnel || this.resFramer.closeDelimited));
    this.client.exchangeDone(this, !closeClient);
  }

  private pauseClient(): void {
    if (!this.pausedClient) {
      this.pausedClient = true;
      this.client.pauseReading();
    }
  }

  private resumeClient(): void {
    if (this.pausedClient) {
      this.pausedClient = false;
      this.client.resumeReading();
    }
  }
}
