import { expect, test } from "bun:test";
import { silentLogger } from "../../src/log/index.ts";
import { ClientConnection } from "../../src/router/edge/client-connection.ts";
import { EdgeCore } from "../../src/router/edge/edge-core.ts";
import type { ProxyPlan, UpstreamTarget } from "../../src/router/edge/types.ts";
import type { UpstreamSocket } from "../../src/router/edge/upstream-pool.ts";

/**
 * An instance that never completes the TCP handshake cannot be made on
 * loopback, so the edge's connect timeout is driven here through fake
 * sockets: the first instance's connect never settles, the second answers.
 */
test("a connection not established within the connect timeout moves on to the next instance", async () => {
  const targets: UpstreamTarget[] = [{ address: "127.0.0.1:1" }, { address: "127.0.0.1:2" }];
  let next = 0;
  const statuses: number[] = [];
  const plan: ProxyPlan = {
    next: () => targets[next++] ?? null,
    requestHead: () => "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    responseLines: () => "",
    failure: () => ({ status: 502, routerError: "endpoint_failure", headers: "", body: "x" }),
    done: (o) => void statuses.push(o.status),
  };
  const written: string[] = [];
  class FakeCore extends EdgeCore {
    override connect(address: string): Promise<UpstreamSocket> {
      if (address === "127.0.0.1:1") return new Promise(() => {}); // never settles, like a dropped SYN
      const sock = { readyState: 1, data: { address, exchange: null, idleSince: 0, pool: this.pool }, write: (b: Uint8Array | string, _o?: number, len?: number) => len ?? b.length, end() {}, terminate() {} };
      return Promise.resolve(sock as unknown as UpstreamSocket);
    }
  }
  const core = new FakeCore(() => ({ kind: "proxy", plan }), { requestTimeoutMs: 60_000, idleTimeoutMs: 60_000, upstreamIdleMs: 60_000, sweepMs: 1000, connectTimeoutMs: -1 }, () => false, silentLogger);
  const client = { remoteAddress: "127.0.0.1", remotePort: 1, write: (b: Uint8Array, _o?: number, len?: number) => (written.push(Buffer.from(b).toString("latin1", 0, len ?? b.length)), len ?? b.length), end() {}, terminate() {} };
  const conn = new ClientConnection(client as never, core);
  conn.onData(Buffer.from("GET / HTTP/1.1\r\nHost: a.apps.localhost\r\n\r\n"));
  expect(next).toBe(1);
  core.sweep(); // the first connect is past its (negative) timeout: the second instance is tried
  expect(next).toBe(2);
  await Promise.resolve();
  await Promise.resolve();
  const [ex] = [...core.active];
  expect(ex?.upstream?.data.address).toBe("127.0.0.1:2");
  ex!.onUpstreamData(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  expect(statuses).toEqual([200]);
  expect(written.join("")).toContain("HTTP/1.1 200 OK");
});
