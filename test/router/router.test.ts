import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { rawConnection, startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

/**
 * The router's edge on a real port in front of real upstream servers:
 * round-robin, headers, streaming both ways, retries, error answers, the
 * appliance's API behind it, WebSockets, pipelining.
 */
describe("router edge", () => {
  let r: RouterHarness;
  let a: Server<unknown>;
  let b: Server<unknown>;
  let slow: Server<unknown>;
  let release: () => void = () => {};

  beforeAll(() => {
    a = startUpstream("a");
    b = startUpstream("b");
    // Holds a streamed response open until the test releases it.
    slow = startUpstream("slow", (req) => {
      if (new URL(req.url).pathname !== "/held") return undefined;
      const enc = new TextEncoder();
      const body = new ReadableStream({
        async start(c) {
          c.enqueue(enc.encode("first;"));
          await new Promise<void>((res) => (release = res));
          c.enqueue(enc.encode("second;"));
          c.close();
        },
      });
      return new Response(body);
    });
    r = startRouter();
    r.routes.set("app.apps.localhost", [target(a, { index: 0 }), target(b, { index: 1 })]);
    // Port 1 refuses connections: the router must retry on the next instance.
    r.routes.set("flaky.apps.localhost", [target(1, { index: 0 }), target(a, { index: 1 })]);
    r.routes.set("dead.apps.localhost", [target(1)]);
    r.routes.set("custom.example.com", [target(b)]);
    r.routes.set("slow.apps.localhost", [target(slow)]);
    r.known.add("down.apps.localhost");
  });
  afterAll(async () => {
    await r.close();
    for (const s of [a, b, slow]) s.stop(true);
  });

  test("round-robin across instances, host matched case-insensitively and without port", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await r.get(i % 2 ? "APP.apps.localhost:7080" : "app.apps.localhost")).headers.get("x-upstream")!);
    expect(seen.sort()).toEqual(["a", "a", "b", "b"]);
  });

  test("path, query and Host unchanged; gorouter's headers set; hop-by-hop and forged instance headers dropped", async () => {
    const res = await r.get("app.apps.localhost:7080", "/some/Path?q=1&r=2", {
      headers: { "x-forwarded-for": "10.0.0.9", "x-forwarded-proto": "https", connection: "keep-alive, x-drop", "x-drop": "1", "x-cf-instanceid": "forged", "x-vcap-request-id": "forged", "x-request-start": "1" },
    });
    const body = (await res.json()) as { name: string; path: string; headers: Record<string, string> };
    expect(body.path).toBe("/some/Path?q=1&r=2");
    const h = body.headers;
    expect(h.host).toBe("app.apps.localhost:7080");
    // 127.0.0.1 is not a trusted proxy here: its X-Forwarded-* are replaced by what the router saw.
    expect(h["x-forwarded-for"]).toBe("127.0.0.1");
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h["x-forwarded-host"]).toBe("app.apps.localhost:7080");
    expect(h["x-vcap-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.headers.get("x-vcap-request-id")).toBe(h["x-vcap-request-id"]!);
    expect(Number(h["x-request-start"])).toBeGreaterThan(Date.now() - 60_000);
    const instance = r.routes.get("app.apps.localhost")!.find((t) => t.address.endsWith(`:${body.name === "a" ? a.port : b.port}`))!;
    expect(h["x-cf-instanceid"]).toBe(instance.instance_guid);
    expect(h["x-cf-instanceindex"]).toBe(String(instance.index));
    expect(h["x-cf-applicationid"]).toBe("app-guid");
    expect(h["x-drop"]).toBeUndefined();
  });

  test("X-Forwarded-* from a trusted proxy are kept and extended", async () => {
    const t = startRouter({ trustedProxies: ["127.0.0.0/8"] });
    try {
      t.routes.set("app.apps.localhost", [target(a)]);
      const res = await t.get("app.apps.localhost", "/", { headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "app.example.org", "x-request-start": "1700000000000" } });
      const h = ((await res.json()) as { headers: Record<string, string> }).headers;
      expect(h["x-request-start"]).toBe("1700000000000");
      expect(h["x-forwarded-for"]).toBe("203.0.113.7, 127.0.0.1");
      expect(h["x-forwarded-proto"]).toBe("https");
      expect(h["x-forwarded-host"]).toBe("app.example.org");
    } finally {
      await t.close();
    }
  });

  test("streams a large request body up and a chunked response down", async () => {
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251);
    const stream = new ReadableStream({
      start(c) {
        for (let off = 0; off < big.length; off += 256 * 1024) c.enqueue(big.subarray(off, off + 256 * 1024));
        c.close();
      },
    });
    const res = await fetch(`${r.base}/echo`, { method: "POST", body: stream, headers: { host: "app.apps.localhost" }, duplex: "half" } as RequestInit);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(big.length);
    expect(Bun.hash(back)).toBe(Bun.hash(big));
  });

  test("a streamed response is streamed: the first chunk arrives while the instance still holds the response open", async () => {
    const res = await r.get("slow.apps.localhost", "/held");
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first;");
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe("second;");
  });

  test("retries another instance when a connection is refused (with a body too)", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await r.get("flaky.apps.localhost", "/echo", { method: "POST", body: "hello" });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("hello");
    }
  });

  test("404 for an unknown route, 503 when no instance is up, 502 when none answers, as gorouter words them", async () => {
    const r404 = await r.get("nope.apps.localhost");
    expect(r404.status).toBe(404);
    expect(await r404.text()).toBe("404 Not Found: Requested route ('nope.apps.localhost') does not exist.\n");
    expect(r404.headers.get("x-cf-routererror")).toBe("unknown_route");
    const r503 = await r.get("down.apps.localhost");
    expect(r503.status).toBe(503);
    expect(await r503.text()).toBe("503 Service Unavailable: Requested route ('down.apps.localhost') has no available endpoints.\n");
    expect(r503.headers.get("x-cf-routererror")).toBe("no_endpoints");
    const r502 = await r.get("dead.apps.localhost");
    expect(r502.status).toBe(502);
    expect(await r502.text()).toBe("502 Bad Gateway: Registered endpoint failed to handle the request.\n");
    expect(r502.headers.get("x-cf-routererror")).toBe("endpoint_failure");
  });

  test("hosts outside the route domain go on to the appliance's API unless an app routes them", async () => {
    for (const host of ["127.0.0.1", "localhost:7080", "apps.localhost"]) {
      const res = await r.get(host, "/v3/info");
      expect(res.headers.get("x-api")).toBe("1");
      expect(await res.text()).toBe("api /v3/info");
    }
    expect((await r.get("custom.example.com")).headers.get("x-upstream")).toBe("b");
  });

  test("WebSocket upgrades are tunnelled to an instance", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/socket`, { headers: { host: "custom.example.com" } } as unknown as string[]);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send("one");
        ws.send("two");
      };
      ws.onmessage = (e) => {
        got.push(String(e.data));
        if (got.length === 2) resolve();
      };
      ws.onerror = () => reject(new Error("websocket error"));
    });
    expect(got).toEqual(["b:one", "b:two"]);
    ws.close();
  });

  test("pipelined requests on one connection are answered in order", async () => {
    const c = await rawConnection(r.port);
    const reqs = ["/p1", "/p2", "/p3"].map((p) => `GET ${p} HTTP/1.1\r\nHost: custom.example.com\r\n\r\n`).join("");
    c.send(reqs);
    const text = await c.read((t) => (t.match(/HTTP\/1\.1 200/g) ?? []).length === 3 && t.includes("/p3"));
    const order = [...text.matchAll(/"path":"(\/p\d)"/g)].map((m) => m[1]);
    expect(order).toEqual(["/p1", "/p2", "/p3"]);
    c.close();
  });

  test("a client that half-closes after its request still gets the answer, then the connection closes", async () => {
    const c = await rawConnection(r.port);
    c.send("GET /half HTTP/1.1\r\nHost: custom.example.com\r\n\r\n");
    c.halfClose();
    await c.closed;
    const text = await c.read(() => true);
    expect(text.startsWith("HTTP/1.1 200 OK")).toBe(true);
    expect(text).toContain('"path":"/half"');
  });

  test("malformed requests get 400 and the connection closes", async () => {
    const c = await rawConnection(r.port);
    c.send("GET / HTTP/1.1\r\nHost: app.apps.localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    const text = await c.read((t) => t.includes("\r\n\r\n"));
    expect(text.startsWith("HTTP/1.1 400")).toBe(true);
    await c.closed;
  });
});
