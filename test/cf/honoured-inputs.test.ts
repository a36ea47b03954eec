import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { answer, appGuid, processOf } from "./apps.ts";

/**
 * Manifest inputs the appliance used to accept and drop, pushed with the real
 * cf CLI (v7 passes manifest keys it does not know through to the server) and
 * judged by what happens: the log rate limit drops lines with CF's notice in
 * `cf logs`, the readiness check keeps a running instance out of the router
 * until its endpoint answers, route options land on the route.
 */
let s: CfSession;
describeCf("real cf CLI: manifest inputs that are honoured", () => {
  beforeAll(async () => {
    s = await startCfSession();
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("log-rate-limit-per-second, readiness-health-check-*, route options: each has its effect", async () => {
    const dir = tempDir("eirini-cf-gated-");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "gated", version: "1.0.0", scripts: { start: "node server.js" } }));
    writeFileSync(
      join(dir, "server.js"),
      [
        'const http = require("node:http");',
        "let ready = false;",
        // A flood at start: 200 lines of 100 bytes, far over 1 KiB per second.
        'for (let i = 0; i < 200; i++) console.log("flood " + String(i).padStart(94, "0"));',
        "http.createServer((q, s) => {",
        '  if (q.url === "/ready") { s.statusCode = ready ? 200 : 503; return s.end(ready ? "ready\\n" : "not yet\\n"); }',
        '  if (q.url === "/make-ready") { ready = true; return s.end("ok\\n"); }',
        '  s.end("gated app\\n");',
        "}).listen(Number(process.env.PORT || 8080));",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "manifest.yml"),
      [
        "applications:",
        "- name: gated",
        `  path: ${dir}`,
        "  memory: 128M",
        "  log-rate-limit-per-second: 1K",
        "  readiness-health-check-type: http",
        "  readiness-health-check-http-endpoint: /ready",
        "  readiness-health-check-interval: 1",
        "  routes:",
        "  - route: gated.apps.localhost",
        "    options:",
        "      loadbalancing: least-connection",
        "",
      ].join("\n"),
    );
    await s.ok(["push", "-f", join(dir, "manifest.yml")]);

    const web = await processOf(s, "gated");
    expect(web).toMatchObject({ log_rate_limit_in_bytes_per_second: 1024, readiness_health_check: { type: "http", data: { endpoint: "/ready", interval: 1 } } });
    const route = (await s.api<{ resources: { options: Record<string, string> }[] }>(`/v3/apps/${await appGuid(s, "gated")}/routes`)).body.resources[0]!;
    expect(route.options).toEqual({ loadbalancing: "least-connection" });

    // Running (cf app says so), but not ready: the router has no instance for the route.
    expect((await s.ok(["app", "gated"])).stdout).toMatch(/#0\s+running/);
    expect(await answer(s, "gated")).toBe("HTTP 503");
    const stats = (await s.api<{ resources: { instance_ports: { external: number }[] }[] }>(`/v3/processes/${web.guid}/stats`)).body.resources;
    await fetch(`http://127.0.0.1:${stats[0]!.instance_ports[0]!.external}/make-ready`);
    await waitFor(async () => (await answer(s, "gated")) === "gated app", { what: "the route once the readiness check passes", timeoutMs: 15_000 });

    // The flood: most lines dropped, CF's notice in their place.
    const logs = (await s.ok(["logs", "gated", "--recent"])).stdout;
    expect(logs).toContain("app instance exceeded log rate limit (1024 bytes/sec)");
    const kept = logs.split("\n").filter((l) => /\[APP\/PROC\/WEB\/0\]\s+OUT flood /.test(l)).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(200);
    expect(logs).toMatch(/\[CELL\/0\]\s+OUT Container passed the readiness health check/);
  }, 90_000);
});
