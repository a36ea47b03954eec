/**
 * Router benchmark: the same app instance reached directly, through nginx
 * (one worker, proxy_pass to an upstream keepalive pool, streaming, an access
 * log to a buffered file) and through eirini's router (the local backend's
 * route targets, the router part's edge as the appliance mounts it, its
 * access log into the app log store; and once more with the access log off),
 * all in one run. wrk -t2 -c32 for a 1 KB, a 1 MB and a
 * chunked (streamed) response; WebSocket echo round trips from a separate
 * process. Every row is the median of ROUNDS interleaved runs.
 *
 * Goals (issue 17): router >= 1.0x nginx and >= 0.7x direct throughput on
 * the 1 KB response, p99 no worse than nginx's.
 *
 *     bun scripts/bench/local/router.ts        # ROUNDS=3 WRK_SECONDS=3 by default
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { LRP } from "../../../src/model/index.ts";
import { createLocalBackend } from "../../../src/opi/local/index.ts";
import { createRouterPart } from "../../../src/router/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { putDroplet } from "../../../test/support/droplet.ts";
import { fmt, median, printTable } from "../table.ts";
import { freePort, portOpen } from "../poll.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WRK_SECONDS = Number(process.env.WRK_SECONDS ?? 3);
const WS_SECONDS = Number(process.env.WS_SECONDS ?? 3);
const NGINX = ["/usr/sbin/nginx", Bun.which("nginx")].find((p): p is string => !!p && existsSync(p));

/** The instance: fixed 1 KB and 1 MB bodies, a streamed (chunked) 64 KB body, WebSocket echo. */
const BENCH_APP = `
const kb = "x".repeat(1024);
const mb = new Uint8Array(1024 * 1024).fill(97);
const piece = new Uint8Array(4096).fill(98);
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT),
  fetch(req, server) {
    if (req.headers.get("upgrade") === "websocket" && server.upgrade(req)) return;
    const path = new URL(req.url).pathname;
    if (path === "/1m") return new Response(mb);
    if (path === "/chunked") {
      let n = 0;
      return new Response(new ReadableStream({ pull(c) { if (n++ < 16) c.enqueue(piece); else c.close(); } }));
    }
    return new Response(kb);
  },
  websocket: { message(ws, m) { ws.send(m); } },
});
`;

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function wrk(url: string, host?: string): Promise<WrkResult> {
  const p = Bun.spawn(["wrk", "-t2", "-c32", `-d${WRK_SECONDS}s`, "--latency", ...(host ? ["-H", `Host: ${host}`] : []), url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const ms = (s: string | undefined) => {
    const m = /([\d.]+)(us|ms|s)/.exec(s ?? "");
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    errors: non2xx + (socketErrors ? socketErrors.slice(1).reduce((n, x) => n + Number(x), 0) : 0),
  };
}

/** nginx-light with a temp prefix on a loopback port: one worker, upstream keepalive pool, streaming, access log. */
async function startNginx(dir: string, upstreamPort: number): Promise<{ port: number; stop(): Promise<void> } | null> {
  if (!NGINX) return null;
  const port = await freePort();
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log combined buffer=64k;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Request-Start $msec;
      proxy_set_header X-Vcap-Request-Id $request_id;
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = Bun.spawn([NGINX, "-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")], { stdout: "ignore", stderr: "pipe" });
  for (let i = 0; i < 500 && !(await portOpen(port)); i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${await new Response(proc.stderr).text()}${existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : ""}`);
    await Bun.sleep(10);
  }
  return {
    port,
    async stop() {
      proc.kill("SIGQUIT");
      await proc.exited;
    },
  };
}

async function wsEcho(url: string, host: string): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "router-ws-client.ts"), url, host, "8", String(WS_SECONDS)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
}

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

export async function runRouterBench(): Promise<void> {
  if (!Bun.which("wrk")) {
    console.log("\nwrk not found: router benchmark skipped (install the Debian package wrk)");
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), "eirini-bench-router-"));
  const store = openStore(dataDir);
  const backend = createLocalBackend({ store, config: ConfigSchema.parse({ dataDir }), logger: silentLogger, logs: store.logs });
  await backend.start();
  const hash = await putDroplet(store.blobs, { "app/server.js": BENCH_APP }, `exec ${process.execPath} server.js`);
  const host = "bench.apps.localhost";
  const guid = `router-bench-${crypto.randomUUID().slice(0, 6)}`;
  const lrp: LRP = {
    guid, version: "v1", process_guid: `${guid}-v1`, process_type: "web", app_guid: guid, app_name: "router-bench", space_guid: "", space_name: "s",
    organization_guid: "", organization_name: "o", environment: {}, instances: 1, memory_mb: 256, disk_mb: 256, ports: [8080],
    routes: { "cf-router": [{ hostname: host, port: 8080 }] }, health_check_type: "port", health_check_http_endpoint: "/",
    health_check_timeout_ms: 1000, start_timeout_ms: 60_000, placement_tags: [], volume_mounts: [], user_defined_annotations: {},
    last_updated: "1", lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: hash, start_command: "" } },
  };
  await backend.desireLRP(lrp);
  for (let i = 0; i < 3000 && backend.routeTargets(host).length < 1; i++) await Bun.sleep(10);
  const instance = backend.routeTargets(host)[0]!.address;
  const instancePort = Number(instance.split(":")[1]);

  // The router as the appliance wires it (src/cli/parts.ts): backend route targets, access log into the app log store.
  const api = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("api") });
  const routerOpts = { domain: "apps.localhost", targets: (h: string) => backend.routeTargets(h), knowsRoute: (h: string) => backend.knowsRoute(h), routePaths: (h: string) => backend.routePaths(h), logger: silentLogger };
  const edge = createRouterPart({ ...routerOpts, logs: store.logs }).edge.listen({ hostname: "127.0.0.1", port: 0, inner: `127.0.0.1:${api.port}` });
  // The same router with router.accessLog: false: what the hop costs without the SQLite write per request.
  const quietEdge = createRouterPart(routerOpts).edge.listen({ hostname: "127.0.0.1", port: 0, inner: `127.0.0.1:${api.port}` });
  const nginxDir = mkdtempSync(join(tmpdir(), "eirini-bench-nginx-"));
  const nginx = await startNginx(nginxDir, instancePort);

  type Path = { name: string; url: (p: string) => string; host?: string };
  const paths: Path[] = [
    { name: "baseline: instance directly", url: (p) => `http://${instance}${p}` },
    ...(nginx ? [{ name: "nginx (1 worker, keepalive pool)", url: (p: string) => `http://127.0.0.1:${nginx.port}${p}`, host }] : []),
    { name: "eirini router", url: (p: string) => `http://127.0.0.1:${edge.port}${p}`, host },
    { name: "eirini router, access log off", url: (p: string) => `http://127.0.0.1:${quietEdge.port}${p}`, host },
  ];
  const endpoints = [
    { path: "/", title: "1 KB response" },
    { path: "/1m", title: "1 MB response" },
    { path: "/chunked", title: "streamed (chunked) 64 KB response, 16 chunks" },
  ];
  console.log(`\nrouter benchmark: ${cpus().length} cores, load average before ${loadavg()}; other work on this machine shares the cores, so each row is the median of ${ROUNDS} interleaved runs`);
  if (!nginx) console.log("nginx not found: its rows are skipped (install the Debian package nginx-light)");

  for (const p of paths) await wrk(p.url("/"), p.host); // warm-up: JIT, pools
  const results = new Map<string, WrkResult[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const e of endpoints) {
      for (const p of paths) {
        const key = `${e.path}|${p.name}`;
        const list = results.get(key) ?? [];
        list.push(await wrk(p.url(e.path), p.host));
        results.set(key, list);
      }
    }
  }
  const med = (key: string, f: (r: WrkResult) => number) => median((results.get(key) ?? []).map(f));
  const verdicts: string[] = [];
  for (const e of endpoints) {
    const row = (p: Path) => {
      const k = `${e.path}|${p.name}`;
      return [p.name, fmt(med(k, (r) => r.rps), 0), fmt(med(k, (r) => r.p50), 2), fmt(med(k, (r) => r.p99), 2), String(Math.max(...(results.get(k) ?? []).map((r) => r.errors)))];
    };
    const direct = `${e.path}|${paths[0]!.name}`;
    const nginxKey = `${e.path}|${paths[1]?.name}`;
    const rows = paths.map(row);
    for (const variant of ["eirini router", "eirini router, access log off"]) {
      const routerKey = `${e.path}|${variant}`;
      const label = variant === "eirini router" ? "router" : "router (log off)";
      rows.push([`${label} / direct`, `${fmt(med(routerKey, (r) => r.rps) / med(direct, (r) => r.rps), 2)}x`, "", "", ""]);
      if (nginx) rows.push([`${label} / nginx`, `${fmt(med(routerKey, (r) => r.rps) / med(nginxKey, (r) => r.rps), 2)}x`, "", `${fmt(med(routerKey, (r) => r.p99) / med(nginxKey, (r) => r.p99), 2)}x`, ""]);
      if (e.path !== "/") continue;
      const vsDirect = med(routerKey, (r) => r.rps) / med(direct, (r) => r.rps);
      verdicts.push(`${label} >= 0.7x direct throughput (1 KB): ${fmt(vsDirect, 2)}x -> ${vsDirect >= 0.7 ? "met" : "MISSED"}`);
      if (nginx) {
        const vsNginx = med(routerKey, (r) => r.rps) / med(nginxKey, (r) => r.rps);
        const p99 = med(routerKey, (r) => r.p99) / med(nginxKey, (r) => r.p99);
        verdicts.push(`${label} >= 1.0x nginx throughput (1 KB): ${fmt(vsNginx, 2)}x -> ${vsNginx >= 1 ? "met" : "MISSED"}`);
        verdicts.push(`${label} p99 <= nginx p99 (1 KB): ${fmt(p99, 2)}x -> ${p99 <= 1 ? "met" : "MISSED"}`);
      }
    }
    printTable(`${e.title}: wrk -t2 -c32 -d${WRK_SECONDS}s, median of ${ROUNDS}`, ["path", "req/s", "p50 ms", "p99 ms", "errors"], rows);
  }

  const ws: string[][] = [];
  const wsPaths = [
    { name: "baseline: instance directly", url: `ws://${instance}/`, host: "" },
    ...(nginx ? [{ name: "nginx", url: `ws://127.0.0.1:${nginx.port}/`, host }] : []),
    { name: "eirini router", url: `ws://127.0.0.1:${edge.port}/`, host },
  ];
  const wsRuns = new Map<string, { perSecond: number; p50Ms: number; p99Ms: number }[]>();
  for (let round = 0; round < ROUNDS; round++) for (const p of wsPaths) wsRuns.set(p.name, [...(wsRuns.get(p.name) ?? []), await wsEcho(p.url, p.host)]);
  for (const p of wsPaths) {
    const rs = wsRuns.get(p.name)!;
    ws.push([p.name, fmt(median(rs.map((r) => r.perSecond)), 0), fmt(median(rs.map((r) => r.p50Ms)), 3), fmt(median(rs.map((r) => r.p99Ms)), 3)]);
  }
  const wsDirect = median(wsRuns.get(wsPaths[0]!.name)!.map((r) => r.perSecond));
  const wsRouter = median(wsRuns.get("eirini router")!.map((r) => r.perSecond));
  ws.push(["router / direct", `${fmt(wsRouter / wsDirect, 2)}x`, "", ""]);
  printTable(`WebSocket echo, 8 connections ping-pong for ${WS_SECONDS}s (client in its own process), median of ${ROUNDS}`, ["path", "round trips/s", "p50 ms", "p99 ms"], ws);

  console.log("");
  for (const v of verdicts) console.log(`target: ${v}`);
  console.log(`load average after: ${loadavg()}`);

  await nginx?.stop();
  await edge.stop(true);
  await quietEdge.stop(true);
  api.stop(true);
  await backend.stop();
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(nginxDir, { recursive: true, force: true });
}

if (import.meta.main) await runRouterBench();
