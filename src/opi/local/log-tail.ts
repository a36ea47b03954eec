import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from "node:fs";
import type { LogSink } from "../../model/index.ts";
import type { LogRateLimiter } from "../log-rate.ts";

/**
 * Follows a process's stdout/stderr FILES (not pipes, so an instance keeps
 * running, and logging, across an appliance restart) and turns them into app
 * log lines. The process writes with O_APPEND, so once the reader has caught
 * up the file is truncated to keep the disk bounded (a line written in that
 * instant can be lost). A flood beyond `maxBacklog` bytes is skipped with one
 * notice line rather than stored, as Diego's log rate limit drops lines.
 */
export class LogTail {
  private offset: number;
  private partial = "";
  private fd: number | undefined;
  private readonly decoder = new TextDecoder();
  private readonly buf = Buffer.allocUnsafe(256 * 1024);

  constructor(
    private readonly path: string,
    private readonly sink: LogSink,
    private readonly tags: { source_id: string; source_type: string; instance_id: string; stream: "OUT" | "ERR" },
    fromEnd: boolean,
    private readonly limits = { maxBacklog: 8 * 1024 * 1024, truncateAt: 1024 * 1024, maxLine: 64 * 1024 },
    /** The instance's log rate limit (shared by its stdout and stderr tails); none = unlimited. */
    private readonly rate?: LogRateLimiter,
  ) {
    try {
      this.fd = openSync(path, "r+");
      this.offset = fromEnd ? fstatSync(this.fd).size : 0;
    } catch {
      this.offset = 0;
    }
  }

  /** Reads what is new; call periodically and once more after the process exits. */
  poll(): void {
    if (this.fd === undefined) return;
    let size: number;
    try {
      size = fstatSync(this.fd).size;
    } catch {
      return;
    }
    if (size < this.offset) this.offset = 0;
    if (size - this.offset > this.limits.maxBacklog) {
      const dropped = size - this.offset;
      this.offset = size;
      this.partial = "";
      this.emit(`eirini: dropped ${dropped} bytes of log output (the app logs faster than they can be stored)`, "ERR");
    }
    while (this.offset < size) {
      const n = readSync(this.fd, this.buf, 0, Math.min(this.buf.length, size - this.offset), this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.consume(this.decoder.decode(this.buf.subarray(0, n), { stream: true }));
    }
    if (this.offset >= this.limits.truncateAt) {
      try {
        ftruncateSync(this.fd, 0);
        this.offset = 0;
      } catch {
        /* keep reading from where we are */
      }
    }
  }

  /** Flushes a last unterminated line and closes the file. */
  close(): void {
    this.poll();
    if (this.partial) this.limited(this.partial);
    this.partial = "";
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private consume(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    if (this.partial.length > this.limits.maxLine) {
      parts.push(this.partial);
      this.partial = "";
    }
    for (const line of parts) this.limited(line.length > this.limits.maxLine ? line.slice(0, this.limits.maxLine) : line);
  }

  /** An app line through the rate limit: stored, dropped, or replaced by CF's notice. */
  private limited(line: string): void {
    const verdict = this.rate ? this.rate.admit(Buffer.byteLength(line)) : "pass";
    if (verdict === "pass") this.emit(line, this.tags.stream);
    else if (verdict === "notice") this.emit(this.rate!.notice, "ERR");
  }

  private emit(message: string, stream: "OUT" | "ERR"): void {
    this.sink.append({
      source_id: this.tags.source_id,
      source_type: this.tags.source_type,
      instance_id: this.tags.instance_id,
      stream,
      message: message.replace(/\r$/, ""),
      timestamp: BigInt(Date.now()) * 1_000_000n,
    });
  }
}
