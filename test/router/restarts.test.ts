import { afterAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import type { RouteTarget } from "../../src/opi/index.ts";
import { waitFor } from "../support/poll.ts";
import { startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

/**
 * One keep-alive client connection sending `count` GETs one after another
 * and reading each response (Content-Length framed). Returns the statuses;
 * a connection that breaks loses the requests it had not had answered.
 */
async function keepAliveClient(port: number, host: string, count: number, onAnswer: () => void): Promise<{ statuses: number[]; lost: number }> {
  const statuses: number[] = [];
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let closed = false;
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        buf = Buffer.concat([buf, chunk]);
        wake?.();
      },
      close() {
        closed = true;
        wake?.();
      },
    },
  });
  const request = `GET /work HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
  for (let i = 0; i < count; i++) {
    sock.write(request);
    for (;;) {
      const end = buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = buf.toString("latin1", 0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length >= end + 4 + length) {
          statuses.push(Number(head.slice(9, 12)));
          onAnswer();
          buf = buf.subarray(end + 4 + length);
          break;
        }
      }
      if (closed) return { statuses, lost: count - statuses.length };
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000);
      });
    }
  }
  sock.end();
  return { statuses, lost: 0 };
}

describe("router under load while instances restart", () => {
  let r: RouterHarness | undefined;
  const servers = new Set<Server<unknown>>();
  afterAll(async () => {
    await r?.close();
    for (const s of servers) s.stop(true);
  });

  test("200 concurrent keep-alive connections: nothing lost; only requests on a killed instance may get 502", async () => {
    r = startRouter();
    const host = "busy.apps.localhost";
    let generation = 0;
    const instance = (index: number): { server: Server<unknown>; target: RouteTarget } => {
      const server = startUpstream(`i${index}-g${generation++}`);
      servers.add(server);
      return { server, target: target(server, { index, instance_guid: `guid-${index}-${generation}` }) };
    };
    const live = [instance(0), instance(1), instance(2)];
    const publish = () => r!.routes.set(host, live.map((l) => l.target));
    publish();

    const CONNECTIONS = 200;
    const PER_CONNECTION = 25;
    let done = false;
    let answered = 0;
    const clients = Promise.all(Array.from({ length: CONNECTIONS }, () => keepAliveClient(r!.port, host, PER_CONNECTION, () => answered++))).finally(() => (done = true));

    // Restart instances while the load runs: graceful ones (unrouted first, as CF drains them) and hard kills (still routed).
    let kills = 0;
    let restarts = 0;
    for (let round = 0; round < 6 && !done; round++) {
      // Let some traffic through before each restart (progress, not a sleep).
      const before = answered;
      await waitFor(() => done || answered >= before + 300, { what: "progress between restarts", intervalMs: 5 });
      if (done) break;
      const index = round % 3;
      const old = live[index]!;
      if (round % 2 === 0) {
        live[index] = instance(index);
        publish();
        await old.server.stop(false);
      } else {
        old.server.stop(true);
        kills++;
        live[index] = instance(index);
        publish();
      }
      servers.delete(old.server);
      restarts++;
    }
    const results = await clients;
    const statuses = results.flatMap((x) => x.statuses);
    const lost = results.reduce((n, x) => n + x.lost, 0);
    // Restarts happened while the load was running.
    expect(restarts).toBeGreaterThanOrEqual(3);
    expect(lost).toBe(0);
    expect(statuses.length).toBe(CONNECTIONS * PER_CONNECTION);
    const bad = statuses.filter((s) => s !== 200 && s !== 502);
    expect(bad).toEqual([]);
    // GETs cut off by a killed instance are retried on another one; at most the requests in flight at a kill may see 502.
    expect(statuses.filter((s) => s === 502).length).toBeLessThanOrEqual(kills * CONNECTIONS);
  }, 60_000);
});
