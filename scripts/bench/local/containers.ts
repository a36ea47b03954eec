/**
 * Containers on the local backend, three tables, baselines from the same run:
 *
 * 1. desire -> RUNNING for a node HTTP app (port check): container executor
 *    (runc, overlay, bridge IP) versus the process executor and a plain spawn
 *    of the same app. Goal: container <= process + 150 ms (median).
 * 2. 100 containerised instances (one LRP, `sleep`, process check): the
 *    appliance's RSS before and after, kernel-side memory of the containers
 *    (sum of their memory cgroups) and MemAvailable drop; time until all RUNNING.
 * 3. push -> first 200 through the router for test-fixtures/node-hello with
 *    the appliance in container mode vs process mode (EIRINI_BIN, else the
 *    sources): the `eirini push` CLI from spawn to the first 200. Goal: <= 1 s
 *    with containers.
 *
 * Needs root, runc and the stand-in stack (test/support/stack-rootfs.ts);
 * prints one line and exits 0 where they are missing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema } from "../../../src/config/index.ts";
import { bridgeNameFor, cgroupUsage, containerSupport } from "../../../src/container/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { LRP } from "../../../src/model/index.ts";
import { createLocalBackend, type LocalBackend } from "../../../src/opi/local/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { putDroplet } from "../../../test/support/droplet.ts";
import { standInStack } from "../../../test/support/stack-rootfs.ts";
import { fmt, median, percentile, printTable } from "../table.ts";

const RUNS = Number(process.env.RUNS ?? 10);
const MANY = Number(process.env.BENCH_CONTAINERS ?? 100);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 3);
const ROOT = join(import.meta.dir, "../../..");

const support = containerSupport();
const stack = support.ok ? await standInStack("node") : { rootfs: null, reason: "" };
if (!support.ok || !stack.rootfs) {
  console.log(`containers benchmark skipped: ${!support.ok ? support.checks.filter((c) => !c.ok).map((c) => c.detail).join("; ") : stack.reason}`);
  process.exit(0);
}

const NODE_APP = `require("http").createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT), "0.0.0.0");`;
const tmp: string[] = [];
const tempDir = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  tmp.push(d);
  return d;
};

interface Rig {
  store: Store;
  backend: LocalBackend;
  hash: string;
}

async function rig(isolation: "container" | "process"): Promise<Rig> {
  const dataDir = tempDir(`eirini-bench-${isolation}-`);
  const store = openStore(dataDir);
  const config = ConfigSchema.parse({ dataDir, local: { isolation, stack: stack.rootfs! }, cells: { memoryMb: 64 * 1024, maxInstances: 1000 } });
  const backend = createLocalBackend({ store, config, logger: silentLogger, logs: { append() {} }, logPollMs: 20 });
  await backend.start();
  const hash = await putDroplet(store.blobs, { "app/server.js": NODE_APP }, "exec node server.js");
  return { store, backend, hash };
}

let seq = 0;
function lrp(hash: string, over: Partial<LRP> = {}): LRP {
  const guid = `bench-${++seq}-${crypto.randomUUID().slice(0, 6)}`;
  return {
    guid, version: "v1", process_guid: `${guid}-v1`, process_type: "web", app_guid: guid, app_name: guid, space_guid: "", space_name: "s",
    organization_guid: "", organization_name: "o", environment: {}, instances: 1, memory_mb: 128, disk_mb: 256, ports: [8080],
    routes: { "cf-router": [{ hostname: `${guid}.apps.localhost`, port: 8080 }] }, health_check_type: "port", health_check_http_endpoint: "/",
    health_check_timeout_ms: 1000, start_timeout_ms: 60_000, placement_tags: [], volume_mounts: [], user_defined_annotations: {},
    last_updated: "1", lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: hash, start_command: "" } }, ...over,
  };
}

/** desireLRP until `n` RUNNING events; stops it afterwards unless `keep`. */
async function desireToRunning(r: Rig, l: LRP, keep = false): Promise<number> {
  const t0 = performance.now();
  let seen = 0;
  const running = new Promise<number>((resolve) => {
    const off = r.backend.subscribe((e) => {
      if (e.type === "instance_state" && e.process_guid === l.process_guid && e.state === "RUNNING" && ++seen === l.instances) {
        off();
        resolve(performance.now() - t0);
      }
    });
  });
  await r.backend.desireLRP(l);
  const ms = await running;
  if (!keep) await r.backend.stopLRP(l.process_guid);
  return ms;
}

async function directSpawn(): Promise<number> {
  const dir = tempDir("eirini-bench-app-");
  await Bun.write(join(dir, "server.js"), NODE_APP);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = performance.now();
  const p = Bun.spawn(["node", "server.js"], { cwd: dir, env: { ...process.env, PORT: String(port) }, stdout: "ignore", stderr: "ignore" });
  for (;;) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      break;
    } catch {
      await Bun.sleep(1);
    }
  }
  const ms = performance.now() - t0;
  p.kill();
  await p.exited;
  return ms;
}

function memAvailableMb(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024;
}

const procRig = await rig("process");
const ctrRig = await rig("container");
try {
  // ---- 1. desire -> RUNNING ----------------------------------------------------
  await desireToRunning(procRig, lrp(procRig.hash));
  await desireToRunning(ctrRig, lrp(ctrRig.hash)); // unpacks the droplet layer once
  await directSpawn();
  const direct: number[] = [];
  const proc: number[] = [];
  const ctr: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    direct.push(await directSpawn());
    proc.push(await desireToRunning(procRig, lrp(procRig.hash)));
    ctr.push(await desireToRunning(ctrRig, lrp(ctrRig.hash)));
  }
  const overhead = median(ctr) - median(proc);
  printTable(`desire -> RUNNING, node HTTP app, port check (${RUNS} runs each, interleaved)`, ["path", "median ms", "p90 ms", "min ms"], [
    ["baseline: spawn node directly until port open", fmt(median(direct)), fmt(percentile(direct, 90)), fmt(Math.min(...direct))],
    ["process executor: desireLRP until RUNNING", fmt(median(proc)), fmt(percentile(proc, 90)), fmt(Math.min(...proc))],
    ["container executor: desireLRP until RUNNING", fmt(median(ctr)), fmt(percentile(ctr, 90)), fmt(Math.min(...ctr))],
    ["container - process (median)", fmt(overhead), "", ""],
  ]);
  console.log(`goal: container <= process + 150 ms -> ${overhead <= 150 ? "met" : "MISSED"}`);

  // ---- 2. 100 containers ---------------------------------------------------------
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss / 1048576;
  const availBefore = memAvailableMb();
  const many = lrp(ctrRig.hash, { instances: MANY, memory_mb: 64, health_check_type: "process", ports: [8080], lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: ctrRig.hash, start_command: "exec sleep 3600" } } });
  const allMs = await desireToRunning(ctrRig, many, true);
  Bun.gc(true);
  const rssAfter = process.memoryUsage().rss / 1048576;
  const availAfter = memAvailableMb();
  const insts = await ctrRig.backend.getInstances(many.process_guid);
  let cgroupMb = 0;
  const parent = `/eirini-${bridgeNameFor(join(ctrRig.store.dataDir, "opi-local", "containers"))}`;
  for (const i of insts) {
    cgroupMb += (cgroupUsage(`${parent}/${i.instance_guid}`)?.memoryBytes ?? 0) / 1048576;
  }
  printTable(`${MANY} containerised instances (sleep, process check, 64 MB each)`, ["measure", "value"], [
    ["desire -> all RUNNING (ms)", fmt(allMs)],
    ["appliance RSS before (MB)", fmt(rssBefore)],
    ["appliance RSS with the containers (MB)", fmt(rssAfter)],
    ["appliance RSS per container (KB)", fmt(((rssAfter - rssBefore) * 1024) / MANY)],
    ["containers' memory cgroups, total (MB)", fmt(cgroupMb)],
    ["MemAvailable drop, whole machine (MB; includes kernel objects, other tenants)", fmt(availBefore - availAfter)],
  ]);
  const t0 = performance.now();
  await ctrRig.backend.stopLRP(many.process_guid);
  console.log(`stopping ${MANY} containers: ${fmt(performance.now() - t0)} ms`);
} finally {
  await procRig.backend.stop();
  await ctrRig.backend.stop();
  procRig.store.close();
  ctrRig.store.close();
}

// ---- 3. push -> first 200 through the router --------------------------------------
async function pushes(isolation: "container" | "process"): Promise<number[]> {
  const dataDir = tempDir(`eirini-bench-push-${isolation}-`);
  const home = tempDir("eirini-bench-home-");
  const bin = process.env.EIRINI_BIN && (await Bun.file(process.env.EIRINI_BIN).exists()) ? [process.env.EIRINI_BIN] : [process.execPath, join(ROOT, "src/main.ts")];
  const env = { ...process.env, EIRINI_ADMIN_PASSWORD: "bench-pass", EIRINI_LOCAL__ISOLATION: isolation, EIRINI_LOCAL__STACK: stack.rootfs!, HOME: home, EIRINI_CLIENT_CONFIG: join(home, "client.json") };
  const appliance = Bun.spawn([...bin, "local", "--port", "0", "--data-dir", dataDir], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let out = "";
  void (async () => {
    for await (const c of appliance.stdout) out += new TextDecoder().decode(c);
  })();
  try {
    let api: string | undefined;
    for (let i = 0; i < 2000 && !api; i++) {
      api = /eirini listening on (\S+)/.exec(out)?.[1];
      if (!api) await Bun.sleep(10);
    }
    if (!api) throw new Error(`eirini local did not start: ${out}`);
    const port = new URL(api).port;
    const cli = (args: string[]) => Bun.spawn([...bin, ...args], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const login = cli(["login", "--api", api, "-p", "bench-pass"]);
    if ((await login.exited) !== 0) throw new Error(`login failed: ${await new Response(login.stderr).text()}`);
    const times: number[] = [];
    for (let i = 0; i < PUSHES + 1; i++) {
      const name = `hello-${isolation}-${i}`;
      const t0 = performance.now();
      const p = cli(["push", join(ROOT, "test-fixtures/node-hello"), "--name", name, "-m", "64M"]);
      for (;;) {
        const r = await fetch(`http://${name}.apps.localhost:${port}/`).catch(() => null);
        await r?.arrayBuffer();
        if (r?.status === 200) break;
        if (p.exitCode !== null && p.exitCode !== 0) throw new Error(`push failed: ${await new Response(p.stderr).text()}`);
        await Bun.sleep(2);
      }
      const ms = performance.now() - t0;
      await p.exited;
      if (i > 0) times.push(ms); // the first push warms the buildpack cache and the JIT
    }
    return times;
  } finally {
    appliance.kill("SIGTERM");
    await appliance.exited;
  }
}

try {
  const p = await pushes("process");
  const c = await pushes("container");
  printTable(`eirini push test-fixtures/node-hello -m 64M: spawn -> first 200 through the router (${PUSHES} pushes after one warm-up)`, ["appliance", "median ms", "min ms", "max ms"], [
    ["baseline: local.isolation process", fmt(median(p)), fmt(Math.min(...p)), fmt(Math.max(...p))],
    ["local.isolation container (staging + instance in containers)", fmt(median(c)), fmt(Math.min(...c)), fmt(Math.max(...c))],
  ]);
  console.log(`goal: containers <= 1000 ms -> ${median(c) <= 1000 ? "met" : "MISSED"}`);
} finally {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
}
