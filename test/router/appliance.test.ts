import { afterAll, describe, expect, test } from "bun:test";
import { startAppliance, type Appliance } from "../../src/cli/appliance.ts";
import { ConfigSchema } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { LocalBackendPart } from "../../src/opi/local/index.ts";
import { httpAppFiles, HTTP_START, putDroplet } from "../support/droplet.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { makeLRP } from "../opi/contract.ts";

afterAll(cleanupTempDirs);

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["curl", "-sS", "--max-time", "10", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out };
}

function backendOf(app: Appliance) {
  const part = app.parts.find((p) => p.name === "opi-local") as LocalBackendPart | undefined;
  if (!part) throw new Error("the appliance has no local backend part");
  return part.backend;
}

describe("router in the appliance (local backend)", () => {
  test("curl by Host header and by *.apps.localhost name, WebSocket, API untouched, instances restarted after an appliance restart", async () => {
    const dataDir = tempDir("eirini-router-");
    const config = ConfigSchema.parse({ dataDir, port: 0, shutdownGraceMs: 1000 });
    let app = await startAppliance({ config, logger: silentLogger, env: {} });
    try {
      const backend = backendOf(app);
      const hash = await putDroplet(app.store.blobs, httpAppFiles(), HTTP_START);
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

      // A clean appliance stop stops the instances; the next start brings them back from SQLite.
      await app.stop();
      app = await startAppliance({ config, logger: silentLogger, env: {} });
      const again = backendOf(app);
      expect((await again.getLRP(lrp.process_guid))?.instances).toBe(2);
      await waitFor(() => again.routeTargets("hello.apps.localhost").length === 2, { what: "instances back after restart" });
      const r = await curl(["-H", "Host: hello.apps.localhost", "-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${app.port}/`]);
      expect(r.out).toBe("200");
    } finally {
      await app.stop();
    }
  });
});
