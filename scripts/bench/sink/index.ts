/**
 * Sink benchmark, in-process (no binary, no real processes): a store in a
 * temp dir, the Cloud Controller part, the local OPI backend on its
 * in-memory `FakeExecutor` over 100 large cells, and the Sink, wired as
 * src/cli/parts.ts wires them. Desired state is seeded through the CC's
 * HTTP API (apply_manifest with a default route, package upload, build,
 * current droplet, start), as `cf push` would, with a bench stager that
 * hands every build the same small droplet instead of running buildpacks.
 *
 * (a) A no-op Sink pass (`sink.fullPass()` once everything converged) over
 *     10,000 desired processes (target: median <= 50 ms); baselines in the
 *     same run: the two listings it compares, `cc.desiredStamps()` and
 *     `backend.listLRPs()`, alone, plus `cc.desiredLRPs()` (whole LRPs). The
 *     pass must enqueue nothing and the backend must see no writes.
 * (b) Resident memory with 1,000 desired processes running on the fake
 *     executor, against the RSS of the same wiring before seeding.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { zipSync } from "fflate";
import tar from "tar-stream";
import { stringify as toYaml } from "yaml";
import { createCloudControllerPart, type Stager } from "../../../src/cc/index.ts";
import { ConfigSchema } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { StagingRequestInput, StagingResult } from "../../../src/model/index.ts";
import type { OpiBackend } from "../../../src/opi/index.ts";
import { createLocalBackend, FakeExecutor } from "../../../src/opi/local/index.ts";
import { Sink } from "../../../src/sink/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { fmt, median, percentile, printTable } from "../table.ts";

const TOTAL = Number(process.env.BENCH_SINK_PROCESSES ?? 10_000);
const MEMORY_AT = Math.min(TOTAL, 1_000);
const PASSES = Number(process.env.BENCH_SINK_PASSES ?? 20);
const BATCH = 500;
const CONCURRENCY = 32;
const PASSWORD = "bench-admin-password";
const BASE = "http://127.0.0.1:7080";

const rssMb = () => process.memoryUsage.rss() / 1024 / 1024;
const settledRss = () => {
  Bun.gc(true);
  Bun.gc(true);
  return rssMb();
};

/** A small but real droplet .tgz (CF layout), stored once; every build gets it. */
async function dropletBytes(): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((r) => pack.on("end", () => r()));
  for (const d of ["./app/", "./deps/", "./profile.d/", "./tmp/", "./logs/"]) pack.entry({ name: d, type: "directory", mode: 0o755 });
  pack.entry({ name: "./staging_info.yml", mode: 0o644 }, 'detected_buildpack: nodejs\nstart_command: "node server.js"\n');
  pack.entry({ name: "./app/server.js", mode: 0o644 }, "require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n");
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

const CELLS = { count: 100, memoryMb: 4 * 1024 * 1024, diskMb: 16 * 1024 * 1024, maxInstances: 1_000 };

/** The bench stager: every build gets the same small droplet (stored once), no buildpacks run. */
function benchStager(dropletHash: string): Stager & { stagings: number } {
  return {
    stagings: 0,
    stage(_request: StagingRequestInput) {
      this.stagings++;
      const result: StagingResult = {
        droplet_guid: crypto.randomUUID(),
        droplet_hash: dropletHash,
        detected_buildpack: "nodejs",
        buildpack_name: "nodejs_buildpack",
        start_command: "node server.js",
        process_types: { web: "node server.js" },
        duration_ms: 0,
      };
      return { result: Promise.resolve(result), cancel() {} };
    },
  };
}

/**
 * Store + CC + local backend (FakeExecutor) + Sink on `dir`, wired and
 * started as src/cli/parts.ts does. The Sink sees the backend through a
 * counter of every write it makes.
 */
async function wire(dir: string) {
  const store = openStore(dir);
  if (!(await store.users.verify("admin", PASSWORD))) {
    await store.users.create("admin", PASSWORD, ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write", "openid"]);
  }
  const config = ConfigSchema.parse({ dataDir: dir, cells: CELLS });
  const stager = benchStager((await store.blobs.putBytes(await dropletBytes())).digest.slice("sha256:".length));
  const backend = createLocalBackend({ store, config, logger: silentLogger, logs: store.logs, executor: new FakeExecutor(), cfApi: () => BASE });
  const cc = createCloudControllerPart({ config, store, logger: silentLogger, tokenKey: "bench-token-key", baseUrl: () => BASE, ports: { stager, instances: backend, tasks: backend, logs: store.logs } });
  const writes: Record<string, number> = { desireLRP: 0, updateLRP: 0, stopLRP: 0, stopInstance: 0, desireTask: 0, cancelTask: 0 };
  const counted = new Proxy(backend, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== "function") return v;
      if (typeof key === "string" && key in writes) {
        return (...args: unknown[]) => {
          writes[key]!++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return v.bind(target);
    },
  }) as OpiBackend;
  const sink = new Sink({
    source: cc,
    opi: counted,
    logger: silentLogger,
    // Only the passes this benchmark asks for: no timer pass may land inside a measurement.
    fullPassIntervalMs: 3_600_000,
    concurrency: config.sink.concurrency,
    onEvent: (event) => {
      if (event.type === "crash") cc.recordCrash(event);
      else if (event.type === "task_completed") cc.recordTaskCompletion(event);
    },
  });
  await backend.start();
  await cc.start?.();
  sink.start();
  await sink.fullPass();
  await sink.idle();

  /** Waits until the Sink has nothing left to do and every instance runs. */
  async function converged(expected: number): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      await sink.idle();
      const enqueued = await sink.fullPass();
      await sink.idle();
      const lrps = await backend.listLRPs();
      if (enqueued === 0 && lrps.length === expected) {
        const running = (await Promise.all(lrps.map((l) => backend.getInstances(l.desired_lrp_key.process_guid)))).flat().filter((i) => i.state === "RUNNING").length;
        if (running === expected) return performance.now() - t0;
      }
      if (performance.now() - t0 > 120_000) throw new Error(`not converged after 120 s: ${lrps.length}/${expected} LRPs`);
      await Bun.sleep(10);
    }
  }
  let closed = false;
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    sink.stop();
    await cc.stop?.();
    await backend.stop();
    store.close();
  }
  return { store, cc, backend, sink, stager, writes, converged, close };
}

/**
 * Child mode: a fresh process opens the data dir as a restarted appliance
 * would, converges `expected` processes onto its FakeExecutor and prints
 * its settled RSS. Free of the seeding's garbage, so the figure is the
 * steady state of the appliance holding that many processes.
 */
if (process.argv[2] === "--rss-child") {
  const [dir, expected] = [process.argv[3]!, Number(process.argv[4])];
  const t0 = performance.now();
  const w = await wire(dir);
  await w.converged(expected);
  const convergeMs = performance.now() - t0;
  const { heapStats } = await import("bun:jsc");
  const rss = settledRss();
  console.log(JSON.stringify({ rss, heapMb: heapStats().heapSize / 1024 / 1024, convergeMs }));
  await w.close();
  process.exit(0);
}

async function rssChild(dir: string, expected: number): Promise<{ rss: number; heapMb: number; convergeMs: number }> {
  const p = Bun.spawn([process.execPath, import.meta.path, "--rss-child", dir, String(expected)], { stdout: "pipe", stderr: "inherit" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  if (code !== 0) throw new Error(`RSS child exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

const dir = mkdtempSync(join(tmpdir(), "eirini-bench-sink-"));
const emptyDir = mkdtempSync(join(tmpdir(), "eirini-bench-sink-empty-"));
let w = await wire(dir);
try {
  // ---- API client (in-process, against whichever wiring is current) -------------
  const tokenRes = await w.cc.routes.request(`${BASE}/uaa/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
    body: new URLSearchParams({ grant_type: "password", username: "admin", password: PASSWORD }).toString(),
  });
  if (tokenRes.status !== 200) throw new Error(`token: HTTP ${tokenRes.status}: ${await tokenRes.text()}`);
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  async function api<T = any>(method: string, path: string, body?: unknown, raw?: { body: BodyInit; type?: string }): Promise<T> {
    const headers: Record<string, string> = { authorization: `bearer ${token}` };
    let payload: BodyInit | undefined;
    if (raw) {
      payload = raw.body;
      if (raw.type) headers["content-type"] = raw.type;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const res = await w.cc.routes.request(`${BASE}${path}`, { method, headers, body: payload });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
  async function pool<T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }));
  }

  const space = (await api<{ resources: { guid: string }[] }>("GET", "/v3/spaces?names=dev")).resources[0]!.guid;
  const zip = zipSync({ "server.js": [new TextEncoder().encode("require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n"), { attrs: 0o100644 * 0x10000, os: 3 }] });

  /** Pushes apps [from, to) the way cf push does, in batches of one manifest each. */
  async function seed(from: number, to: number): Promise<void> {
    for (let start = from; start < to; start += BATCH) {
      const names = Array.from({ length: Math.min(BATCH, to - start) }, (_, i) => `app-${start + i}`);
      const manifest = toYaml({ applications: names.map((name) => ({ name, memory: "64M", instances: 1, "default-route": true })) });
      await api("POST", `/v3/spaces/${space}/actions/apply_manifest`, undefined, { body: manifest, type: "application/x-yaml" });
      const apps = (await api<{ resources: { guid: string }[] }>("GET", `/v3/apps?names=${names.join(",")}&per_page=${BATCH}`)).resources;
      if (apps.length !== names.length) throw new Error(`expected ${names.length} apps, listed ${apps.length}`);
      const builds = new Map<string, string>();
      await pool(apps, async (app) => {
        const pkg = await api<{ guid: string }>("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app.guid } } } });
        const form = new FormData();
        form.append("resources", "[]");
        form.append("bits", new Blob([zip], { type: "application/zip" }), "package.zip");
        await api("POST", `/v3/packages/${pkg.guid}/upload`, undefined, { body: form });
        builds.set(app.guid, (await api<{ guid: string }>("POST", "/v3/builds", { package: { guid: pkg.guid } })).guid);
      });
      await w.cc.stagingIdle();
      await pool(apps, async (app) => {
        const build = await api<{ state: string; droplet: { guid: string } | null; error: string | null }>("GET", `/v3/builds/${builds.get(app.guid)}`);
        if (build.state !== "STAGED" || !build.droplet) throw new Error(`build for ${app.guid}: ${build.state} ${build.error}`);
        await api("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: build.droplet.guid } });
        await api("POST", `/v3/apps/${app.guid}/actions/start`);
      });
    }
  }

  // ---- (b) memory: empty, then 1,000 desired processes -------------------------
  const emptyChild = await rssChild(emptyDir, 0);
  const rssEmpty = settledRss();
  let stagings = 0;
  const seedSmall0 = performance.now();
  await seed(0, MEMORY_AT);
  const seedSmallMs = performance.now() - seedSmall0;
  const convergeSmallMs = await w.converged(MEMORY_AT);
  const rssSmall = settledRss();
  stagings += w.stager.stagings;
  // The same data dir in a fresh process: the appliance restarted with MEMORY_AT processes.
  await w.close();
  const smallChild = await rssChild(dir, MEMORY_AT);
  w = await wire(dir);
  await w.converged(MEMORY_AT);

  // ---- (a) no-op pass over TOTAL desired processes ---------------------------------
  const seedBig0 = performance.now();
  await seed(MEMORY_AT, TOTAL);
  const seedBigMs = performance.now() - seedBig0;
  const convergeBigMs = await w.converged(TOTAL);
  const rssBig = settledRss();
  stagings += w.stager.stagings;
  const { cc, backend, sink, writes } = w;

  const time = async (fn: () => unknown): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < PASSES; i++) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
    return out;
  };
  const writesBefore = Object.values(writes).reduce((a, b) => a + b, 0);
  const convergedBefore = { ...sink.stats.converged };
  const enqueuedPerPass: number[] = [];
  await time(() => sink.fullPass()); // warm-up, not reported
  const passMs = await time(async () => {
    enqueuedPerPass.push(await sink.fullPass());
  });
  await sink.idle();
  const writesDuring = Object.values(writes).reduce((a, b) => a + b, 0) - writesBefore;
  const convergeCalls = Object.entries(sink.stats.converged).reduce((n, [k, v]) => n + v - convergedBefore[k as keyof typeof convergedBefore], 0);
  const desiredMs = await time(() => cc.desiredLRPs());
  const stampsMs = await time(() => cc.desiredStamps());
  const listMs = await time(() => backend.listLRPs());
  const desiredCount = cc.desiredLRPs().length;
  const listCount = (await backend.listLRPs()).length;
  if (enqueuedPerPass.some((n) => n !== 0) || writesDuring !== 0 || convergeCalls !== 0) {
    throw new Error(`the no-op pass was not a no-op: enqueued ${enqueuedPerPass.join(",")}, backend writes ${writesDuring}, converge calls ${convergeCalls}`);
  }
  await w.close();
  const bigChild = await rssChild(dir, TOTAL);

  printTable(
    `no-op Sink pass over ${desiredCount} desired processes (${PASSES} passes after a warm-up; 100 cells, FakeExecutor)`,
    ["subject", "median ms", "p90 ms", "max ms", "target"],
    [
      ["sink.fullPass() (cc.desiredStamps + backend.listLRPs + diff)", fmt(median(passMs), 2), fmt(percentile(passMs, 90), 2), fmt(Math.max(...passMs), 2), "median <= 50 ms"],
      [`baseline: cc.desiredStamps() alone (${desiredCount} guid+stamp rows)`, fmt(median(stampsMs), 2), fmt(percentile(stampsMs, 90), 2), fmt(Math.max(...stampsMs), 2), ""],
      [`baseline: backend.listLRPs() alone (${listCount} scheduling infos)`, fmt(median(listMs), 2), fmt(percentile(listMs, 90), 2), fmt(Math.max(...listMs), 2), ""],
      [`reference: cc.desiredLRPs() (${desiredCount} whole LRPs; what a pass read before)`, fmt(median(desiredMs), 2), fmt(percentile(desiredMs, 90), 2), fmt(Math.max(...desiredMs), 2), ""],
    ],
  );
  printTable("no-op check over the measured passes", ["check", "value"], [
    ["processes enqueued by the passes", enqueuedPerPass.reduce((a, b) => a + b, 0)],
    ["backend writes (desire/update/stop LRP, stop instance, tasks)", writesDuring],
    ["processes converged by the queue", convergeCalls],
  ]);
  printTable(
    "resident memory of the CONTROL PLANE ALONE: store + CC + local backend + Sink, with FakeExecutor (no app processes, no log tails; RSS after Bun.gc(true))",
    ["desired processes (all RUNNING)", "fresh process on the data dir: RSS MB", "JS heap MB", "start to all RUNNING", "seeding process: RSS MB", "seeding through the API"],
    [
      ["baseline: 0 (empty data dir)", fmt(emptyChild.rss), fmt(emptyChild.heapMb), `${fmt(emptyChild.convergeMs)} ms`, fmt(rssEmpty), ""],
      [String(MEMORY_AT), fmt(smallChild.rss), fmt(smallChild.heapMb), `${fmt(smallChild.convergeMs)} ms`, fmt(rssSmall), `${fmt(seedSmallMs / 1000)} s, converged ${fmt(convergeSmallMs)} ms later`],
      [String(TOTAL), fmt(bigChild.rss), fmt(bigChild.heapMb), `${fmt(bigChild.convergeMs)} ms`, fmt(rssBig), `+${TOTAL - MEMORY_AT} in ${fmt(seedBigMs / 1000)} s, converged ${fmt(convergeBigMs)} ms later`],
    ],
  );
  console.log(`\n(${stagings} builds staged by the bench stager; "fresh process" = a restarted appliance re-adopting the data dir; the seeding process also holds the allocator's high-water mark from ${TOTAL} pushes)`);
} finally {
  await w.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  rmSync(emptyDir, { recursive: true, force: true });
}
