/**
 * Where an HTTP/1.1 message body ends (RFC 9112 6), tracked over the bytes
 * as they pass through unchanged: the proxy never re-frames a body, it only
 * needs to know when a message is over to reuse the connection and to log.
 */
const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataEnd,
  TrailerStart,
  TrailerLine,
  FinalLf,
  Done,
}

export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

export class BodyFramer {
  private state = S.Done;
  private remaining = 0;
  private digits = 0;
  /** Length or close framing: no chunk lines after the data. */
  private lengthOnly = true;
  /** Counted body bytes (chunk framing included), for the access log. */
  bytes = 0;
  closeDelimited = false;

  /** Starts a new message body. */
  reset(f: Framing): void {
    this.bytes = 0;
    this.closeDelimited = false;
    this.digits = 0;
    this.remaining = 0;
    if (f.kind === "length") {
      this.state = f.length > 0 ? S.Data : S.Done;
      this.remaining = f.length;
      this.lengthOnly = true;
    } else if (f.kind === "chunked") {
      this.state = S.Size;
      this.lengthOnly = false;
    } else if (f.kind === "close") {
      this.state = S.Data;
      this.remaining = Number.POSITIVE_INFINITY;
      this.closeDelimited = true;
      this.lengthOnly = true;
    } else {
      this.state = S.Done;
    }
  }

  get done(): boolean {
    return this.state === S.Done;
  }

  /**
   * Consumes bytes of `buf` from `off`; returns how many belong to this body
   * (fewer than offered once the body ends). Throws on malformed chunking.
   */
  consume(buf: Uint8Array, off: number, end: number): number {
    let i = off;
    while (i < end && this.state !== S.Done) {
      if (this.state === S.Data) {
        const n = Math.min(this.remaining, end - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = this.lengthOnly ? S.Done : S.DataEnd;
        continue;
      }
      const c = buf[i++]!;
      switch (this.state) {
        case S.Size: {
          const v = hex(c);
          if (v >= 0) {
            if (++this.digits > 15) throw new Error("chunk size too large");
            this.remaining = this.remaining * 16 + v;
          } else if (this.digits === 0) throw new Error("bad chunk size");
          else if (c === 13) this.state = S.SizeLf;
          else if (c === 10) this.endSize();
          else if (c === 59 || c === 32 || c === 9) this.state = S.Ext;
          else throw new Error("bad chunk size");
          break;
        }
        case S.Ext:
          if (c === 10) this.endSize();
          break;
        case S.SizeLf:
          if (c !== 10) throw new Error("bad chunk line");
          this.endSize();
          break;
        case S.DataEnd:
          if (c === 10) {
            this.state = S.Size;
            this.digits = 0;
            this.remaining = 0;
          } else if (c !== 13) throw new Error("bad chunk end");
          break;
        case S.TrailerStart:
          this.state = c === 13 ? S.FinalLf : c === 10 ? S.Done : S.TrailerLine;
          break;
        case S.TrailerLine:
          if (c === 10) this.state = S.TrailerStart;
          break;
        case S.FinalLf:
          if (c !== 10) throw new Error("bad chunked trailer");
          this.state = S.Done;
          break;
      }
    }
    this.bytes += i - off;
    return i - off;
  }

  private endSize(): void {
    if (this.remaining === 0) this.state = S.TrailerStart;
    else this.state = S.Data;
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
