/**
 * Local backend benchmark, two tables, each with its baseline from the same run:
 *
 * 1. Desire -> RUNNING overhead for a tiny Bun HTTP app with a port check,
 *    versus the app's own start time (the same command spawned directly,
 *    timed until its port accepts a connection). Target: median overhead <= 100 ms.
 * 2. Router throughput and latency (wrk) through the appliance's port with a
 *    Host header, versus calling the instance directly. Target: >= 0.7x direct.
 *
 * The backend and the router part run in-process from the sources, mounted in
 * one Bun server as the appliance mounts them (the full appliance's Sink
 * would stop an LRP its Cloud Controller does not know). A third row shows a
 * minimal Bun fetch proxy: the cost of any in-process proxy hop on this box.
 */
import { ConfigSchema } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { LRP } from "../../../src/model/index.ts";
import { createLocalBackend } from "../../../src/opi/local/index.ts";
import { createRouterPart } from "../../../src/router/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpAppFiles, HTTP_APP, putDroplet } from "../../../test/support/droplet.ts";
import { fmt, median, percentile, printTable } from "../table.ts";

const RUNS = Number(process.env.RUNS ?? 15);
const WRK_SECONDS = Number(process.env.WRK_SECONDS ?? 5);
const dataDir = mkdtempSync(join(tmpdir(), "eirini-bench-local-"));
const store = openStore(dataDir);
// Plain processes here (the Bun app lives on the host); containers.ts measures containers against them.
const backend = createLocalBackend({ store, config: ConfigSchema.parse({ dataDir, local: { isolation: "process" } }), logger: silentLogger, logs: { append() {} } });
await backend.start();
const router = createRouterPart({ domain: "apps.localhost", targets: (h) => backend.routeTargets(h), knowsRoute: (h) => backend.knowsRoute(h), logger: silentLogger });
const app = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req, srv) => router.frontDoor!(req, srv) ?? new Response("api", { status: 404 }),
  websocket: router.websocket!,
});
const startCommand = `exec ${process.execPath} server.js`;
const hash = await putDroplet(store.blobs, httpAppFiles(), startCommand);

function lrp(i: number, host: string): LRP {
  const guid = `bench-${i}-${crypto.randomUUID().slice(0, 6)}`;
  return {
    guid, version: "v1", process_guid: `${guid}-v1`, process_type: "web", app_guid: guid, app_name: guid, space_guid: "", space_name: "s",
    organization_guid: "", organization_name: "o", environment: {}, instances: 1, memory_mb: 256, disk_mb: 256, ports: [8080],
    routes: { "cf-router": [{ hostname: host, port: 8080 }] }, health_check_type: "port", health_check_http_endpoint: "/",
    health_check_timeout_ms: 1000, start_timeout_ms: 60_000, placement_tags: [], volume_mounts: [], user_defined_annotations: {},
    last_updated: "1", lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: hash, start_command: "" } },
  };
}

async function portOpen(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

/** Baseline: the app's own start time, spawned directly and polled every millisecond. */
async function directStart(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "eirini-bench-app-"));
  await Bun.write(join(dir, "server.js"), HTTP_APP);
  const port = await freePort();
  const t0 = performance.now();
  const p = Bun.spawn(["/bin/sh", "-c", startCommand], { cwd: dir, env: { ...process.env, PORT: String(port), CF_INSTANCE_INDEX: "0" }, stdout: "ignore", stderr: "ignore" });
  while (!(await portOpen(port))) await Bun.sleep(1);
  const ms = performance.now() - t0;
  p.kill();
  await p.exited;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function desireToRunning(i: number): Promise<number> {
  const l = lrp(i, `b${i}.apps.localhost`);
  const t0 = performance.now();
  const running = new Promise<number>((resolve) => {
    const off = backend.subscribe((e) => {
      if (e.type === "instance_state" && e.process_guid === l.process_guid && e.state === "RUNNING") {
        off();
        resolve(performance.now() - t0);
      }
    });
  });
  await backend.desireLRP(l);
  const ms = await running;
  await backend.stopLRP(l.process_guid);
  return ms;
}

// Warm up: unpack the droplet once and let the JIT settle.
await desireToRunning(-1);
await directStart();
const direct: number[] = [];
const viaBackend: number[] = [];
for (let i = 0; i < RUNS; i++) {
  direct.push(await directStart());
  viaBackend.push(await desireToRunning(i));
}
const overhead = median(viaBackend) - median(direct);
printTable(`desire -> RUNNING, tiny Bun HTTP app, port check (${RUNS} runs each)`, ["path", "median ms", "p90 ms", "min ms"], [
  ["baseline: spawn app directly until port open", fmt(median(direct)), fmt(percentile(direct, 90)), fmt(Math.min(...direct))],
  ["local backend: desireLRP until RUNNING event", fmt(median(viaBackend)), fmt(percentile(viaBackend, 90)), fmt(Math.min(...viaBackend))],
  ["overhead (median difference)", fmt(overhead), "", ""],
]);
console.log(`target: overhead <= 100 ms -> ${overhead <= 100 ? "met" : "MISSED"}`);

// ---- router vs direct ------------------------------------------------------
const host = "bench.apps.localhost";
const routed = lrp(9999, host);
await backend.desireLRP(routed);
while (backend.routeTargets(host).length < 1) await Bun.sleep(10);
const target = backend.routeTargets(host)[0]!.address;

interface WrkResult { rps: number; p50: number; p99: number }
async function wrk(url: string, hostHeader?: string): Promise<WrkResult> {
  const args = ["wrk", "-t2", "-c32", `-d${WRK_SECONDS}s`, "--latency", ...(hostHeader ? ["-H", `Host: ${hostHeader}`] : []), url];
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const ms = (s: string | undefined) => {
    const m = /([\d.]+)(us|ms|s)/.exec(s ?? "");
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
  };
}

const hasWrk = Bun.which("wrk") !== null;
if (!hasWrk) {
  console.log("\nwrk not found: router benchmark skipped (install the Debian package wrk)");
} else {
  const minimal = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => fetch(`http://${target}${new URL(req.url).pathname}`, { headers: req.headers }) });
  await wrk(`http://${target}/`); // warm-up
  const d = await wrk(`http://${target}/`);
  const r = await wrk(`http://127.0.0.1:${app.port}/`, host);
  const m = await wrk(`http://127.0.0.1:${minimal.port}/`);
  minimal.stop(true);
  printTable(`router vs direct (wrk -t2 -c32 -d${WRK_SECONDS}s, GET / JSON ~1 KB)`, ["path", "req/s", "p50 ms", "p99 ms"], [
    ["baseline: instance directly", fmt(d.rps, 0), fmt(d.p50, 2), fmt(d.p99, 2)],
    ["through the router (Host header)", fmt(r.rps, 0), fmt(r.p50, 2), fmt(r.p99, 2)],
    ["router: ratio to direct / added", `${fmt(r.rps / d.rps, 2)}x`, `+${fmt(r.p50 - d.p50, 2)}`, `+${fmt(r.p99 - d.p99, 2)}`],
    ["reference: minimal Bun fetch proxy", fmt(m.rps, 0), fmt(m.p50, 2), fmt(m.p99, 2)],
    ["router: ratio to minimal proxy", `${fmt(r.rps / m.rps, 2)}x`, "", ""],
  ]);
  console.log(`target: router >= 0.7x direct throughput -> ${r.rps / d.rps >= 0.7 ? "met" : "MISSED"}`);
}

app.stop(true);
await backend.stop();
store.close();
rmSync(dataDir, { recursive: true, force: true });

// Containers vs processes (needs root, runc and the stand-in stack; says so and skips otherwise).
await import("./containers.ts");
