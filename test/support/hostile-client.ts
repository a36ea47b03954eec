import { readFileSync } from "node:fs";
import { connect } from "node:net";

/**
 * Raw-socket HTTP clients for hostile-input tests: they send what a real
 * client library would refuse to (huge declared bodies, endless chunked
 * bodies, repeated headers) and never hold a body in memory.
 */

export interface HugeBody {
  method: string;
  path: string;
  /** Bytes to announce (Content-Length) or to send chunked. */
  bytes: number;
  chunked?: boolean;
  /** Send `Expect: 100-continue` and the body only after the server's 100 (what curl does). */
  expectContinue?: boolean;
  headers?: Record<string, string>;
}

const ZEROS = Buffer.alloc(256 * 1024);

/**
 * Sends a huge body until the server answers or closes; resolves with the
 * status line's code (0 when the server closed without answering) and the
 * number of body bytes the server let through.
 */
export function sendHugeBody(base: string, req: HugeBody): Promise<{ status: number; sent: number }> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const sock = connect(Number(u.port), u.hostname);
    let sent = 0;
    let status = 0;
    let done = false;
    let head = "";
    const finish = () => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve({ status, sent });
    };
    const pump = () => {
      while (!done && sent < req.bytes) {
        const n = Math.min(ZEROS.length, req.bytes - sent);
        const chunk = req.chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), ZEROS.subarray(0, n), Buffer.from("\r\n")]) : ZEROS.subarray(0, n);
        sent += n;
        if (!sock.write(chunk)) return void sock.once("drain", pump);
      }
      if (!done && req.chunked) sock.write("0\r\n\r\n");
    };
    sock.on("connect", () => {
      const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${u.host}`, req.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${req.bytes}`];
      if (req.expectContinue) lines.push("Expect: 100-continue");
      for (const [k, v] of Object.entries(req.headers ?? {})) lines.push(`${k}: ${v}`);
      sock.write(lines.join("\r\n") + "\r\n\r\n");
      if (!req.expectContinue) pump();
    });
    sock.on("data", (d: Buffer) => {
      head += d.toString("latin1");
      if (req.expectContinue && /^HTTP\/1\.1 100[^\r]*\r\n\r\n/.test(head)) {
        head = head.replace(/^HTTP\/1\.1 100[^\r]*\r\n\r\n/, "");
        pump();
      }
      const m = /^HTTP\/1\.1 ([2-9]\d{2})/.exec(head);
      if (m) {
        status = Number(m[1]);
        finish();
      }
    });
    sock.on("error", finish);
    sock.on("close", finish);
  });
}

/** Current and peak resident memory of a process, in MiB (from /proc: a bound, not a timing). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/** Samples a process's RSS until stopped; `max()` is the highest seen. */
export function watchRss(pid: number, everyMs = 25): { max: () => number; stop: () => void } {
  let max = 0;
  const t = setInterval(() => {
    try {
      max = Math.max(max, memoryOf(pid).rssMb);
    } catch {
      /* the process is gone */
    }
  }, everyMs);
  return { max: () => max, stop: () => clearInterval(t) };
}

/** One HTTP/1.1 request from a chosen loopback source address (the server sees a different client). */
export function requestFrom(localAddress: string, base: string, method: string, path: string, headers: Record<string, string>, body = ""): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect({ port: Number(u.port), host: u.hostname, localAddress });
    let got = "";
    sock.on("connect", () => {
      const lines = [`${method} ${path} HTTP/1.1`, `Host: ${u.host}`, "Connection: close", `Content-Length: ${Buffer.byteLength(body)}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      // No half-close: Bun takes a FIN as the client leaving. "Connection: close" ends it after the answer.
      sock.write(lines.join("\r\n") + "\r\n\r\n" + body);
    });
    sock.on("data", (d: Buffer) => (got += d.toString("utf8")));
    sock.on("error", reject);
    sock.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0);
      resolve({ status, body: got.slice(got.indexOf("\r\n\r\n") + 4) });
    });
  });
}
