import { describe, expect, test } from "bun:test";
import { BodyFramer } from "../../src/router/edge/body-framing.ts";
import { HeadError, keptHeaderLines, parseRequestHead, parseResponseHead, withoutHop } from "../../src/router/edge/http-head.ts";
import { pathCovers, routeKey } from "../../src/opi/index.ts";

/** Feeds `bytes` to a framer in pieces of `step` bytes; returns how many it took in total. */
function feed(f: BodyFramer, bytes: Uint8Array, step: number): number {
  let taken = 0;
  for (let off = 0; off < bytes.length && !f.done; off += step) {
    const end = Math.min(bytes.length, off + step);
    const n = f.consume(bytes, off, end);
    taken += n;
    if (n < end - off) break;
  }
  return taken;
}

describe("edge: message framing and heads", () => {
  const chunked = new TextEncoder().encode("4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nGET /next");

  test("chunked bodies end exactly after the trailer, however the bytes are split", () => {
    const end = chunked.length - "GET /next".length;
    for (const step of [1, 2, 3, 7, 64]) {
      const f = new BodyFramer();
      f.reset({ kind: "chunked" });
      expect(feed(f, chunked, step)).toBe(end);
      expect(f.done).toBe(true);
    }
  });

  test("length bodies, close-delimited bodies and bad chunk sizes", () => {
    const f = new BodyFramer();
    f.reset({ kind: "length", length: 5 });
    expect(f.consume(new TextEncoder().encode("12345678"), 0, 8)).toBe(5);
    expect(f.done).toBe(true);
    f.reset({ kind: "close" });
    expect(f.consume(new Uint8Array(100), 0, 100)).toBe(100);
    expect(f.done).toBe(false);
    f.reset({ kind: "chunked" });
    expect(() => f.consume(new TextEncoder().encode("zz\r\n"), 0, 4)).toThrow();
  });

  test("request heads: fields picked out, smuggling shapes refused", () => {
    const r = parseRequestHead("POST /a?b HTTP/1.1\r\nHost: X.apps.localhost:7080\r\nContent-Length: 3\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nCookie: a=1\r\nCookie: b=2");
    expect([r.method, r.target, r.version, r.host]).toEqual(["POST", "/a?b", "HTTP/1.1", "X.apps.localhost:7080"]);
    expect(r.framing).toEqual({ kind: "length", length: 3 });
    expect(r.cookie).toBe("a=1; b=2");
    expect(keptHeaderLines(r)).toBe("Host: X.apps.localhost:7080\r\nContent-Length: 3\r\nCookie: a=1\r\nCookie: b=2\r\n");
    const last = parseRequestHead("GET / HTTP/1.1\r\nhOsT: a\r\nX-Forwarded-For: 1.2.3.4");
    expect([last.host, last.xForwardedFor, keptHeaderLines(last)]).toEqual(["a", "1.2.3.4", "hOsT: a\r\n"]);
    for (const bad of [
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked",
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b",
      "GET / HTTP/1.1",
      "GET / HTTP/2.0\r\nHost: a",
      "GET / HTTP/1.1\r\nHost: a\r\n folded",
    ]) expect(() => parseRequestHead(bad)).toThrow(HeadError);
  });

  test("response heads: framing per method and status, hop-by-hop lines removed only when present", () => {
    const plain = parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nSet-Cookie: JSESSIONID=1", "GET");
    expect(plain.framing).toEqual({ kind: "length", length: 10 });
    expect(plain.hasHop).toBe(false);
    expect(plain.setCookies).toEqual(["Set-Cookie: JSESSIONID=1"]);
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 10", "HEAD").framing).toEqual({ kind: "none" });
    expect(parseResponseHead("HTTP/1.1 304 Not Modified\r\nContent-Length: 10", "GET").framing).toEqual({ kind: "none" });
    const close = parseResponseHead("HTTP/1.1 200 OK\r\nConnection: close, X-Private\r\nX-Private: 1\r\nTransfer-Encoding: chunked", "GET");
    expect(close.keepAlive).toBe(false);
    expect(withoutHop(close)).toBe("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked");
    const untilClose = parseResponseHead("HTTP/1.1 200 OK\r\nContent-Type: text/plain", "GET");
    expect(untilClose.framing).toEqual({ kind: "close" });
    expect(untilClose.keepAlive).toBe(false);
  });

  test("route keys and path matching on segment boundaries", () => {
    expect(routeKey("Echo.Apps.Localhost/Private-Area/")).toEqual({ host: "echo.apps.localhost", path: "/private-area" });
    expect(routeKey("echo.apps.localhost")).toEqual({ host: "echo.apps.localhost", path: "" });
    expect(routeKey("echo.apps.localhost/")).toEqual({ host: "echo.apps.localhost", path: "" });
    expect(pathCovers("/a", "/a")).toBe(true);
    expect(pathCovers("/a", "/a/b")).toBe(true);
    expect(pathCovers("/a", "/a?x")).toBe(true);
    expect(pathCovers("/a", "/ab")).toBe(false);
    expect(pathCovers("", "/anything")).toBe(true);
  });
});
