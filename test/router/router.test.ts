import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { silentLogger } from "../../src/log/index.ts";
import type { RouteTarget } from "../../src/opi/index.ts";
import { createRouterPart } from "../../src/router/index.ts";

/**
 * The router's front door in a real Bun server (as the appliance mounts it),
 * in front of real upstream servers on random ports.
 */
describe("router front door", () => {
  const upstreams: Server<unknown>[] = [];
  const routes = new Map<string, RouteTarget[]>();
  const known = new Set<string>();
  let front: Server<unknown>;
  let base: string;

  function upstream(name: string): Server<unknown> {
    const s = Bun.serve<{ name: string }>({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        if (srv.upgrade(req, { data: { name } })) return;
        const url = new URL(req.url);
        if (url.pathname === "/echo") return new Response(req.body, { headers: { "x-upstream": name } });
        if (url.pathname === "/stream") {
          const body = new ReadableStream({
            async start(c) {
              for (let i = 0; i < 3; i++) {
                c.enqueue(new TextEncoder().encode(`part${i};`));
                await Bun.sleep(2);
              }
              c.close();
            },
          });
          return new Response(body, { headers: { "x-upstream": name } });
        }
        return Response.json({ name, path: url.pathname + url.search, headers: Object.fromEntries(req.headers) }, { headers: { "x-upstream": name } });
      },
      websocket: {
        message(ws, m) {
          ws.send(`${ws.data.name}:${m}`);
        },
      },
    });
    upstreams.push(s as unknown as Server<unknown>);
    return s;
  }

  beforeAll(() => {
    const a = upstream("a");
    const b = upstream("b");
    routes.set("app.apps.localhost", [
      { process_guid: "p", index: 0, address: `127.0.0.1:${a.port}` },
      { process_guid: "p", index: 1, address: `127.0.0.1:${b.port}` },
    ]);
    // Port 1 refuses connections: the router must retry on the next instance.
    routes.set("flaky.apps.localhost", [
      { process_guid: "f", index: 0, address: "127.0.0.1:1" },
      { process_guid: "f", index: 1, address: `127.0.0.1:${a.port}` },
    ]);
    routes.set("dead.apps.localhost", [{ process_guid: "d", index: 0, address: "127.0.0.1:1" }]);
    routes.set("custom.example.com", [{ process_guid: "c", index: 0, address: `127.0.0.1:${b.port}` }]);
    for (const h of [...routes.keys(), "down.apps.localhost"]) known.add(h);
    const part = createRouterPart({ domain: "apps.localhost", targets: (h) => routes.get(h) ?? [], knowsRoute: (h) => known.has(h), logger: silentLogger });
    front = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        return part.frontDoor!(req, srv) ?? new Response("api", { headers: { "x-api": "1" } });
      },
      websocket: part.websocket!,
    });
    base = `http://127.0.0.1:${front.port}`;
  });
  afterAll(() => {
    front.stop(true);
    for (const s of upstreams) s.stop(true);
  });

  const get = (host: string, path = "/", init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), host } });

  test("round-robin across instances, host matched case-insensitively and without port", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await get(i % 2 ? "APP.apps.localhost:7080" : "app.apps.localhost")).headers.get("x-upstream")!);
    expect(seen.sort()).toEqual(["a", "a", "b", "b"]);
  });

  test("keeps the path and query, Host and X-Forwarded-*, adds X-Vcap-Request-Id", async () => {
    const res = await get("app.apps.localhost:7080", "/some/path?q=1&r=2", { headers: { "x-forwarded-for": "10.0.0.9", connection: "keep-alive, x-drop", "x-drop": "1" } });
    const body = (await res.json()) as { path: string; headers: Record<string, string> };
    expect(body.path).toBe("/some/path?q=1&r=2");
    expect(body.headers.host).toBe("app.apps.localhost:7080");
    expect(body.headers["x-forwarded-for"]).toBe("10.0.0.9, 127.0.0.1");
    expect(body.headers["x-forwarded-proto"]).toBe("http");
    expect(body.headers["x-forwarded-host"]).toBe("app.apps.localhost:7080");
    expect(body.headers["x-vcap-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.headers["x-drop"]).toBeUndefined();
    expect(res.headers.get("x-vcap-request-id")).toBe(body.headers["x-vcap-request-id"]!);
  });

  test("streams a large request body up and a chunked response down", async () => {
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251);
    const stream = new ReadableStream({
      start(c) {
        for (let off = 0; off < big.length; off += 256 * 1024) c.enqueue(big.subarray(off, off + 256 * 1024));
        c.close();
      },
    });
    const res = await fetch(`${base}/echo`, { method: "POST", body: stream, headers: { host: "app.apps.localhost" }, duplex: "half" } as RequestInit);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(big.length);
    expect(Bun.hash(back)).toBe(Bun.hash(big));
    expect(await (await get("app.apps.localhost", "/stream")).text()).toBe("part0;part1;part2;");
  });

  test("retries another instance when a connection is refused (with a body too)", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await get("flaky.apps.localhost", "/echo", { method: "POST", body: "hello" });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("hello");
    }
  });

  test("404 for an unknown route, 503 when no instance is up, 502 when none answers", async () => {
    const r404 = await get("nope.apps.localhost");
    expect(r404.status).toBe(404);
    expect(await r404.text()).toBe("404 Not Found: Requested route ('nope.apps.localhost') does not exist.\n");
    expect(r404.headers.get("x-cf-routererror")).toBe("unknown_route");
    const r503 = await get("down.apps.localhost");
    expect(r503.status).toBe(503);
    expect(await r503.text()).toContain("has no available endpoints");
    const r502 = await get("dead.apps.localhost");
    expect(r502.status).toBe(502);
  });

  test("hosts outside the route domain fall through to the API unless an app routes them", async () => {
    expect((await get("127.0.0.1")).headers.get("x-api")).toBe("1");
    expect((await get("localhost:7080")).headers.get("x-api")).toBe("1");
    expect((await get("apps.localhost")).headers.get("x-api")).toBe("1");
    expect((await get("custom.example.com")).headers.get("x-upstream")).toBe("b");
  });

  test("WebSocket upgrades are bridged to an instance", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${front.port}/socket`, { headers: { host: "custom.example.com" } } as unknown as string[]);
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
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
    await done;
    expect(got).toEqual(["b:one", "b:two"]);
    ws.close();
  });
});
