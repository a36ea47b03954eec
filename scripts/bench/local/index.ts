/**
 * Local backend benchmark, two tables, each with its baseline from the same run:
 *
 * 1. Desire -> RUNNING overhead for a tiny Bun HTTP app with a port check,
 *    versus the app's own start time (the same command spawned directly,
 *    timed until its port accepts a connection). Target: median overhead <= 100 ms.
 * 2. The router versus nginx and the instance directly: `router.ts` here.
 *
 * The backend runs in-process from the sources (the full appliance's Sink
 * would stop an LRP its Cloud Controller does not know).
 */
import { ConfigSchema } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { LRP } from "../../../src/model/index.ts";
import { createLocalBackend } from "../../../src/opi/local/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpAppFiles, HTTP_APP, putDroplet } from "../../../test/support/droplet.ts";
import { fmt, median, percentile, printTable } from "../table.ts";
import { runRouterBench } from "./router.ts";
import { freePort, portOpen } from "../poll.ts";

const RUNS = Number(process.env.RUNS ?? 15);
const dataDir = mkdtempSync(join(tmpdir(), "eirini-bench-local-"));
const store = openStore(dataDir);
// Plain processes here (the Bun app lives on the host); containers.ts measures containers against them.
const backend = createLocalBackend({ store, config: ConfigSchema.parse({ dataDir, local: { isolation: "process" } }), logger: silentLogger, logs: { append() {} } });
await backend.start();
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

await runRouterBench();

await backend.stop();
store.close();
rmSync(dataDir, { recursive: true, force: true });

// Containers vs processes (needs root, runc and the stand-in stack; says so and skips otherwise).
await import("./containers.ts");
