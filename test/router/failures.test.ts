import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server, TCPSocketListener } from "bun";
import { waitFor } from "../support/poll.ts";
import { rawConnection, startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

/** A raw TCP "instance" that reads a request head and then does `act` with the socket. */
function rawInstance(act: (s: Bun.Socket<undefined>) => void): TCPSocketListener<undefined> {
  let seen = "";
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, chunk) {
        seen += Buffer.from(chunk).toString("latin1");
        if (seen.includes("\r\n\r\n")) {
          seen = "";
          act(s);
        }
      },
    },
  });
}

describe("router: timeouts and instances that go away", () => {
  let r: RouterHarness;
  let healthy: Server<unknown>;
  let hang: Server<unknown>;
  const raws: TCPSocketListener<undefined>[] = [];

  beforeAll(() => {
    r = startRouter({ timeouts: { requestTimeoutMs: 300, idleTimeoutMs: 400, sweepMs: 50 } });
    healthy = startUpstream("healthy");
    // Answers /hang never.
    hang = startUpstream("hang", (req) => (new URL(req.url).pathname === "/hang" ? (new Promise<Response>(() => {}) as unknown as Response) : undefined));
    const vanish = rawInstance((s) => s.end());
    const cut = rawInstance((s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
      s.end();
    });
    raws.push(vanish, cut);
    r.routes.set("hang.apps.localhost", [target(hang)]);
    r.routes.set("vanish.apps.localhost", [target(vanish.port)]);
    r.routes.set("vanish-then-ok.apps.localhost", [target(vanish.port, { index: 0 }), target(healthy, { index: 1 })]);
    r.routes.set("cut.apps.localhost", [target(cut.port)]);
  });
  afterAll(async () => {
    await r.close();
    healthy.stop(true);
    hang.stop(true);
    for (const l of raws) l.stop(true);
  });

  test("no response head within the request timeout: 504 with a clear body", async () => {
    const res = await r.get("hang.apps.localhost", "/hang");
    expect(res.status).toBe(504);
    expect(res.headers.get("x-cf-routererror")).toBe("endpoint_failure");
    expect(await res.text()).toBe("504 Gateway Timeout: The registered endpoint did not answer within the router's request timeout.\n");
  });

  test("an instance that goes away mid-request: 502 with gorouter's body for a POST; a GET goes to another instance", async () => {
    const post = await r.get("vanish.apps.localhost", "/", { method: "POST", body: "x" });
    expect(post.status).toBe(502);
    expect(await post.text()).toBe("502 Bad Gateway: Registered endpoint failed to handle the request.\n");
    for (let i = 0; i < 4; i++) {
      const get = await r.get("vanish-then-ok.apps.localhost", "/");
      expect(get.status).toBe(200);
      expect(get.headers.get("x-upstream")).toBe("healthy");
    }
  });

  test("a response cut short mid-body closes the client connection (the head already went out)", async () => {
    const c = await rawConnection(r.port);
    c.send("GET / HTTP/1.1\r\nHost: cut.apps.localhost\r\n\r\n");
    await c.closed;
    const text = await c.read(() => true);
    expect(text.startsWith("HTTP/1.1 200 OK")).toBe(true);
    expect(text.endsWith("only ten b")).toBe(true);
  });

  test("an idle client connection is closed after the idle timeout; one waiting for its response gets it", async () => {
    const busy = await rawConnection(r.port);
    busy.send("GET /hang HTTP/1.1\r\nHost: hang.apps.localhost\r\n\r\n");
    const idle = await rawConnection(r.port);
    await idle.closed; // bounded by rawConnection's own 10 s deadline on reads, and by the test timeout
    const text = await busy.read((t) => t.includes("504"));
    expect(text.startsWith("HTTP/1.1 504")).toBe(true);
    busy.close();
  });

  test("shutdown: stop accepting, let the request in flight finish, then close", async () => {
    let release!: () => void;
    const held = startUpstream("held", () => new Promise<Response>((res) => (release = () => res(new Response("done")))) as unknown as Response);
    const g = startRouter();
    try {
      g.routes.set("held.apps.localhost", [target(held)]);
      const inFlight = g.get("held.apps.localhost", "/");
      await waitFor(() => release !== undefined, { what: "the request at the instance" });
      const stopped = g.edge.stop(false);
      await expect(fetch(`${g.base}/`, { headers: { host: "held.apps.localhost" } })).rejects.toThrow();
      release();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("done");
      await stopped;
    } finally {
      await g.close();
      held.stop(true);
    }
  });
});

