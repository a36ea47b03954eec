import { afterAll, describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createLocalBackend, type LocalBackend } from "../../src/opi/local/index.ts";
import { createRouterPart } from "../../src/router/index.ts";
import { openStore } from "../../src/store/index.ts";
import { httpAppFiles, HTTP_START, putDroplet } from "../support/droplet.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { makeLRP } from "../opi/contract.ts";
import { MemoryLogs } from "../opi/local/harness.ts";

afterAll(cleanupTempDirs);

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["curl", "-sS", "--max-time", "10", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out };
}

/**
 * The router part over the real local backend, its edge in front of a small
 * "API" server the way the appliance mounts it. In the full appliance the
 * Sink owns desired state (it would stop an LRP the CC does not know), so
 * this desires LRPs on the backend directly; the full push path is covered
 * by test/e2e.
 */
function serve(backend: () => LocalBackend): { port: number; stop(): Promise<void> } {
  const api = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (new URL(req.url).pathname === "/healthz" ? Response.json({ status: "ok" }) : new Response("api", { status: 404 })) });
  const router = createRouterPart({ domain: "apps.localhost", targets: (h) => backend().routeTargets(h), knowsRoute: (h) => backend().knowsRoute(h), routePaths: (h) => backend().routePaths(h), logger: silentLogger });
  const edge = router.edge.listen({ hostname: "127.0.0.1", port: 0, inner: `127.0.0.1:${api.port}` });
  return {
    port: edge.port,
    async stop() {
      await edge.stop(true);
      api.stop(true);
    },
  };
}

describe("router over the local backend", () => {
  test("curl by Host header and by *.apps.localhost name, WebSocket, API untouched, instances back after a backend restart", async () => {
    const dataDir = tempDir("eirini-router-");
    const config = ConfigSchema.parse({ dataDir, port: 0 });
    const store = openStore(dataDir);
    const make = () => createLocalBackend({ store, config, logger: silentLogger, logs: new MemoryLogs(), timing: { stopGraceMs: 1000 } });
    let backend = make();
    await backend.start();
    const server = serve(() => backend);
    const app = { port: server.port };
    try {
      const hash = await putDroplet(store.blobs, httpAppFiles(), HTTP_START);
      const lrp = makeLRP({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: hash, start_command: "" } } }, {
        instances: 2,
        routes: { "cf-router": [{ hostname: "hello.apps.localhost", port: 8080 }] },
      });
      await backend.desireLRP(lrp);
      await waitFor(() => backend.routeTargets("hello.apps.localhost").length === 2, { what: "two routed instances" });

      const byHeader = await curl(["-H", "Host: hello.apps.localhost", `http://127.0.0.1:${app.port}/hi?x=1`]);
      expect(byHeader.code).toBe(0);
      const body = JSON.parse(byHeader.out) as { path: string; headers: Record<string, string> };
      expect(body.path).toBe("/hi");
      expect(body.headers["x-forwarded-host"]).toBe("hello.apps.localhost");

      const indexes = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const r = await curl(["--resolve", `hello.apps.localhost:${app.port}:127.0.0.1`, `http://hello.apps.localhost:${app.port}/`]);
        indexes.add((JSON.parse(r.out) as { index: string }).index);
      }
      expect([...indexes].sort()).toEqual(["0", "1"]);

      const missing = await curl(["-H", "Host: nope.apps.localhost", "-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${app.port}/`]);
      expect(missing.out).toBe("404");
      const api = await curl([`http://127.0.0.1:${app.port}/healthz`]);
      expect(JSON.parse(api.out)).toEqual({ status: "ok" });

      const ws = new WebSocket(`ws://127.0.0.1:${app.port}/`, { headers: { host: "hello.apps.localhost" } } as unknown as string[]);
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.onopen = () => ws.send("ping");
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = () => reject(new Error("websocket failed"));
      });
      expect(echoed).toBe("echo:ping");
      ws.close();

      // A clean stop stops the instances; the next start brings them back from SQLite.
      await backend.stop();
      backend = make();
      const again = backend;
      await again.start();
      expect((await again.getLRP(lrp.process_guid))?.instances).toBe(2);
      await waitFor(() => again.routeTargets("hello.apps.localhost").length === 2, { what: "instances back after restart" });
      const r = await curl(["-H", "Host: hello.apps.localhost", "-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${app.port}/`]);
      expect(r.out).toBe("200");
    } finally {
      await server.stop();
      await backend.stop();
      store.close();
    }
  });
});
