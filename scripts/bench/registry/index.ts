/**
 * Registry benchmark: eirini's registry beside nginx (the disk-to-socket
 * ceiling, serving the very same blob files), sha256sum (the digesting floor
 * for pushes) and Debian's docker-registry (Distribution 2.8, the peer), all
 * on 127.0.0.1 in one run, with the same clients (curl for pulls, wrk for
 * manifest GETs, one Bun fetch loop for pushes).
 *
 *   bun scripts/bench/registry/index.ts [--size-mib 256] [--runs 3] [--wrk-seconds 5]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigSchema } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { createRegistry } from "../../../src/registry/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { makeDroplet, makeTar } from "../../../test/registry/fixtures.ts";

const { values } = parseArgs({ options: { "size-mib": { type: "string", default: "256" }, runs: { type: "string", default: "3" }, "wrk-seconds": { type: "string", default: "5" } } });
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const RUNS = Number(values.runs);
const WRK_SECONDS = Number(values["wrk-seconds"]);
const ROOT = join(tmpdir(), `eirini-bench-registry-${process.pid}`);
const PASSWORD = "bench-password";
const NGINX = "/usr/sbin/nginx";
const DOCKER_REGISTRY = "/usr/bin/docker-registry";
const procs: Bun.Subprocess[] = [];

const have = (p: string) => Bun.file(p).size > 0 || Bun.which(p) !== null;
const mib = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function waitHttp(url: string, ok: (s: number) => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if (ok((await fetch(url)).status)) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await Bun.sleep(50);
  }
}

async function run(cmd: string[]): Promise<{ code: number; out: string; ms: number }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, , code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, ms: performance.now() - t0 };
}

async function startEirini(): Promise<{ url: string; dataDir: string }> {
  const dataDir = join(ROOT, "eirini-data");
  const bin = Bun.file("dist/eirini").size > 0 ? ["dist/eirini"] : [process.execPath, "src/main.ts"];
  const proc = Bun.spawn([...bin, "local", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"], {
    env: { ...process.env, EIRINI_ADMIN_PASSWORD: PASSWORD },
    stdout: "pipe",
    stderr: "inherit",
  });
  procs.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("eirini exited before listening");
    text += new TextDecoder().decode(value);
    const m = /eirini listening on (\S+)/.exec(text);
    if (m) return { url: m[1]!, dataDir };
  }
}

async function startNginx(root: string, workers = "auto"): Promise<string> {
  const port = await freePort();
  const dir = join(ROOT, `nginx-${workers}`);
  mkdirSync(dir, { recursive: true });
  const runAsRoot = process.getuid?.() === 0 ? "user root;" : "";
  writeFileSync(
    join(dir, "nginx.conf"),
    `${runAsRoot}
daemon off; worker_processes ${workers}; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  types { application/octet-stream bin; }
  default_type application/vnd.oci.image.manifest.v1+json;
  server { listen 127.0.0.1:${port}; root ${root}; location / { } }
}`,
  );
  procs.push(Bun.spawn([NGINX, "-c", join(dir, "nginx.conf"), "-p", dir], { stdout: "ignore", stderr: "inherit" }));
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(url + "/", (s) => s > 0);
  return url;
}

async function startDockerRegistry(): Promise<string> {
  const port = await freePort();
  const dir = join(ROOT, "docker-registry");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  procs.push(Bun.spawn([DOCKER_REGISTRY, "serve", join(dir, "config.yml")], { stdout: "ignore", stderr: "ignore" }));
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(url + "/v2/", (s) => s === 200);
  return url;
}

/** Chunked push (POST, one streamed PATCH, PUT ?digest) as skopeo does it; returns ms. */
async function push(base: string, repo: string, file: string, digest: string, auth: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: auth });
  if (start.status !== 202) throw new Error(`POST ${start.status} ${await start.text()}`);
  const loc = new URL(start.headers.get("location")!, base);
  const patch = await fetch(loc, { method: "PATCH", body: Bun.file(file), headers: { ...auth, "content-type": "application/octet-stream" } });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status} ${await patch.text()}`);
  const fin = new URL(patch.headers.get("location")!, base);
  fin.searchParams.set("digest", digest);
  const put = await fetch(fin, { method: "PUT", headers: auth });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
  return performance.now() - t0;
}

async function putManifest(base: string, repo: string, body: string, auth: Record<string, string>): Promise<void> {
  const res = await fetch(`${base}/v2/${repo}/manifests/v1`, { method: "PUT", body, headers: { ...auth, "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  if (res.status !== 201) throw new Error(`manifest PUT ${res.status} ${await res.text()}`);
}

async function curlPull(url: string, headers: string[]): Promise<number> {
  const args = ["curl", "-sf", "-o", "/dev/null", ...headers.flatMap((h) => ["-H", h]), url];
  const r = await run(args);
  if (r.code !== 0) throw new Error(`curl ${url} failed (${r.code})`);
  return r.ms;
}

async function wrk(url: string, headers: string[]): Promise<number> {
  const r = await run(["wrk", "-t2", "-c64", `-d${WRK_SECONDS}s`, ...headers.flatMap((h) => ["-H", h]), url]);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.out);
  if (!m) throw new Error(`wrk output unreadable: ${r.out}`);
  if (/Non-2xx/.test(r.out)) throw new Error(`wrk saw errors against ${url}:\n${r.out}`);
  return Number(m[1]);
}

async function composeBench(): Promise<{ small: number; large: number; smallCached: number; largeCached: number; largeImportMs: number }> {
  const dataDir = join(ROOT, "compose-data");
  const store = openStore(dataDir);
  try {
    const registry = createRegistry({ store, config: ConfigSchema.parse({ dataDir }), tokenKey: "bench", logger: silentLogger });
    const random = (n: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
      return b;
    };
    writeFileSync(join(ROOT, "small.tar"), await makeTar([{ name: "etc/os-release", body: random(1024 * 1024) }]));
    writeFileSync(join(ROOT, "large.tar"), await makeTar(Array.from({ length: 10 }, (_, i) => ({ name: `usr/lib/blob${i}`, body: random(10 * 1024 * 1024) }))));
    await registry.importStack("small", join(ROOT, "small.tar"));
    const t0 = performance.now();
    await registry.importStack("large", join(ROOT, "large.tar"));
    const largeImportMs = performance.now() - t0;
    const time = async (stack: string, hash: string, repo: string) => {
      const t = performance.now();
      await registry.composeDropletImage({ dropletHash: hash, stack, repo });
      return performance.now() - t;
    };
    const droplet = async (seed: string) => (await store.blobs.putBytes(await makeDroplet("./run", [{ name: "./app/payload", body: random(8 * 1024 * 1024) }, { name: "./app/seed", body: seed }]))).digest.slice(7);
    // One throwaway compose per stack warms both paths; then each round composes a new droplet on both
    // stacks in alternating order, and the ratio is of medians, never of a cold first call.
    await time("small", await droplet("warm-small"), "bench/warm-small");
    await time("large", await droplet("warm-large"), "bench/warm-large");
    const smallRuns: number[] = [];
    const largeRuns: number[] = [];
    const smallCachedRuns: number[] = [];
    const largeCachedRuns: number[] = [];
    for (let round = 0; round < RUNS; round++) {
      const [da, db] = [await droplet(`a${round}`), await droplet(`b${round}`)];
      const order: ["small" | "large", string, number[]][] = [["small", da, smallRuns], ["large", db, largeRuns]];
      if (round % 2) order.reverse();
      for (const [stack, d, runs] of order) runs.push(await time(stack, d, `bench/${stack}-${round}`));
      // Cached droplet layer: the other stack's droplet is already a layer; only the manifest is new.
      const cached: ["small" | "large", string, number[]][] = [["small", db, smallCachedRuns], ["large", da, largeCachedRuns]];
      if (round % 2) cached.reverse();
      for (const [stack, d, runs] of cached) runs.push(await time(stack, d, `bench/${stack}-cached-${round}`));
    }
    return { small: median(smallRuns), large: median(largeRuns), smallCached: median(smallCachedRuns), largeCached: median(largeCachedRuns), largeImportMs };
  } finally {
    store.close();
  }
}

async function main() {
  for (const tool of ["curl", "wrk", "sha256sum", NGINX]) if (!have(tool)) throw new Error(`${tool} is required (Debian: curl wrk coreutils nginx-light)`);
  mkdirSync(ROOT, { recursive: true });
  const blobFile = join(ROOT, "blob.bin");
  {
    const w = Bun.file(blobFile).writer();
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < SIZE >> 20; i++) {
      crypto.getRandomValues(chunk.subarray(0, 65536));
      chunk.copyWithin(65536, 0, 65536 * 15);
      w.write(chunk);
    }
    await w.end();
  }
  const digest = `sha256:${(await run(["sha256sum", blobFile])).out.split(" ")[0]}`;
  const sha = [] as number[];
  for (let i = 0; i < RUNS; i++) sha.push((await run(["sha256sum", blobFile])).ms);

  const eirini = await startEirini();
  const tok = (await (await fetch(`${eirini.url}/v2/token?service=eirini-registry&scope=repository:bench/blob:pull,push`, { headers: { authorization: `Basic ${btoa(`admin:${PASSWORD}`)}` } })).json()) as { token: string };
  const auth = { authorization: `Bearer ${tok.token}` };
  const ePush: number[] = [];
  for (let i = 0; i < RUNS; i++) ePush.push(await push(eirini.url, "bench/blob", blobFile, digest, auth));
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digest] } });
  const configDigest = `sha256:${new Bun.CryptoHasher("sha256").update(config).digest("hex")}`;
  const configFile = join(ROOT, "config.json");
  writeFileSync(configFile, config);
  await push(eirini.url, "bench/blob", configFile, configDigest, auth);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size: SIZE }],
  });
  await putManifest(eirini.url, "bench/blob", manifest, auth);

  // nginx serves the registry's own blob files, plus the manifest bytes as a file beside them.
  const registryRoot = join(eirini.dataDir, "registry");
  writeFileSync(join(registryRoot, "manifest.json"), manifest);
  const nginx = await startNginx(registryRoot);
  const blobRel = `/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`;
  const authHeader = [`Authorization: Bearer ${tok.token}`];

  const ePull: number[] = [];
  const nPull: number[] = [];
  await curlPull(`${nginx}${blobRel}`, []);
  for (let i = 0; i < RUNS; i++) {
    nPull.push(await curlPull(`${nginx}${blobRel}`, []));
    ePull.push(await curlPull(`${eirini.url}/v2/bench/blob/blobs/${digest}`, authHeader));
  }
  const accept = "Accept: application/vnd.oci.image.manifest.v1+json";
  const nMan = await wrk(`${nginx}/manifest.json`, [accept]);
  const eMan = await wrk(`${eirini.url}/v2/bench/blob/manifests/v1`, [...authHeader, accept]);
  // eirini answers on one event-loop thread; nginx with one worker is the like-for-like ceiling.
  const nMan1 = await wrk(`${await startNginx(registryRoot, "1")}/manifest.json`, [accept]);

  let peer: { push: number; pull: number; man: number } | undefined;
  if (have(DOCKER_REGISTRY)) {
    const dr = await startDockerRegistry();
    const dPush: number[] = [];
    for (let i = 0; i < RUNS; i++) dPush.push(await push(dr, "bench/blob", blobFile, digest, {}));
    await push(dr, "bench/blob", configFile, configDigest, {});
    await putManifest(dr, "bench/blob", manifest, {});
    const dPull: number[] = [];
    for (let i = 0; i < RUNS; i++) dPull.push(await curlPull(`${dr}/v2/bench/blob/blobs/${digest}`, []));
    peer = { push: median(dPush), pull: median(dPull), man: await wrk(`${dr}/v2/bench/blob/manifests/v1`, [accept]) };
  }

  const compose = await composeBench();

  const rows: string[][] = [["measure", "eirini", "baseline", "ratio", "target", "docker-registry 2.8"]];
  const fmt = (n: number) => n.toFixed(0);
  const pullE = mib(SIZE, median(ePull));
  const pullN = mib(SIZE, median(nPull));
  rows.push([`pull ${SIZE >> 20} MiB blob (MiB/s)`, fmt(pullE), `nginx ${fmt(pullN)}`, (pullE / pullN).toFixed(2), ">= 0.80", peer ? fmt(mib(SIZE, peer.pull)) : "-"]);
  rows.push([`manifest GET, 64 conns (req/s)`, fmt(eMan), `nginx ${fmt(nMan)}`, (eMan / nMan).toFixed(2), ">= 0.50", peer ? fmt(peer.man) : "-"]);
  rows.push([`manifest GET vs 1-worker nginx (req/s)`, fmt(eMan), `nginx/1 ${fmt(nMan1)}`, (eMan / nMan1).toFixed(2), "", ""]);
  const pushE = mib(SIZE, median(ePush));
  const shaT = mib(SIZE, median(sha));
  rows.push([`push ${SIZE >> 20} MiB blob (MiB/s)`, fmt(pushE), `sha256sum ${fmt(shaT)}`, (pushE / shaT).toFixed(2), ">= 0.70", peer ? fmt(mib(SIZE, peer.push)) : "-"]);
  rows.push([`compose, 1 MiB stack, new droplet (ms)`, fmt(compose.small), "", "", "", ""]);
  rows.push([`compose, 100 MiB stack, new droplet (ms)`, fmt(compose.large), "1 MiB stack", (compose.large / compose.small).toFixed(2), "~1.0", ""]);
  rows.push([`compose, 1 MiB stack, cached droplet layer (ms)`, compose.smallCached.toFixed(1), "", "", "", ""]);
  rows.push([`compose, 100 MiB stack, cached droplet layer (ms)`, compose.largeCached.toFixed(1), "1 MiB stack", (compose.largeCached / compose.smallCached).toFixed(2), "~1.0", ""]);
  rows.push([`(stack import, 100 MiB, once) (ms)`, fmt(compose.largeImportMs), "", "", "", ""]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`registry benchmark: ${RUNS} runs (median), wrk ${WRK_SECONDS}s, ${navigator.hardwareConcurrency} cores`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

try {
  await main();
} finally {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  rmSync(ROOT, { recursive: true, force: true });
}
