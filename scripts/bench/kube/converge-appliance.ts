/**
 * Cold converge of N LRPs by the whole appliance in its shipped form (the
 * compiled `eirini` binary, `local --backend kube`, no `--smol`) against the
 * API-server emulator (in this process, over real HTTP):
 * - N docker apps are made through the CF V3 API (stopped), then started
 *   at once; from the first start request to N StatefulSets in the emulator
 *   is the wall time; Kubernetes requests per LRP by verb/resource;
 * - steady state: informer watches expire and relist (a resync), pods churn
 *   status, the Sink runs full passes: writes must stay 0;
 * - appliance RSS after steady state; and the same appliance from the same
 *   sources in a plain bun process, before and after a forced full GC.
 * Baseline in the same run: the same N StatefulSets+PDBs+Services created
 * straight through client-node (no reads, no caches).
 *
 * Usage: bun scripts/bench/kube/converge-appliance.ts [n=200]
 */
import * as k8s from "@kubernetes/client-node";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LRP } from "../../../src/model/index.ts";
import { buildPDB, buildRouteService, buildStatefulSet, desiredFromLRP, INSTANCES_ANNOTATION } from "../../../src/opi/kube/index.ts";
import { compiledEirini } from "../../../test/support/compiled-binary.ts";
import { startKubeEmulator } from "../../../test/support/kube/index.ts";
import { fmt, printTable, rssMb } from "../table.ts";

const N = Number(process.argv[2] ?? 200);
const NS = "cf-apps";
const CONCURRENCY = 16;
// The shipped binary (EIRINI_BIN, dist/eirini from `make build`), else one compiled from these sources.
if (process.env.EIRINI_BIN && !existsSync(process.env.EIRINI_BIN)) delete process.env.EIRINI_BIN;
const BIN = compiledEirini();
const PASSWORD = "bench-pass";

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function until<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 120_000): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(5);
  }
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

const kube = await startKubeEmulator({ namespaces: [NS] });
const dir = mkdtempSync(join(tmpdir(), "eirini-bench-converge-"));
const configFile = join(dir, "config.json");
writeFileSync(
  configFile,
  JSON.stringify({ backend: "kube", kube: { kubeconfig: kube.writeKubeconfig(dir), namespace: NS, registryAddress: "127.0.0.1:1" }, sink: { fullPassIntervalMs: 2_000 }, logLevel: "warn" }),
);

// ---- baseline: the same objects straight through client-node --------------------------------
const kc = new k8s.KubeConfig();
kc.loadFromFile(join(dir, "kubeconfig"));
const apps = kc.makeApiClient(k8s.AppsV1Api);
const policy = kc.makeApiClient(k8s.PolicyV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const build = { namespace: "bench-base", cfApi: "http://127.0.0.1:7080", registryAddress: "registry.example:5000" };
await core.createNamespace({ body: { metadata: { name: "bench-base" } } });
kube.counter.reset();
let t = performance.now();
await pool(Array.from({ length: N }, (_, i) => i), CONCURRENCY, async (i) => {
  const guid = crypto.randomUUID();
  const lrp = LRP.parse({ guid, version: "v1", process_guid: `${guid}-v1`, app_guid: guid, app_name: `base-${i}`, instances: 1, routes: { "cf-router": [{ hostname: `base-${i}.apps.localhost`, port: 8080 }] }, lifecycle: { docker_lifecycle: { image: "eirini-test/http:1", command: [] } } });
  const sts = buildStatefulSet(build, desiredFromLRP(lrp));
  sts.metadata.annotations[INSTANCES_ANNOTATION] = "1";
  const created = await apps.createNamespacedStatefulSet({ namespace: "bench-base", body: sts });
  const owner = { metadata: { name: created.metadata!.name, uid: created.metadata!.uid } };
  await policy.createNamespacedPodDisruptionBudget({ namespace: "bench-base", body: buildPDB(build, lrp, owner) });
  await core.createNamespacedService({ namespace: "bench-base", body: buildRouteService(build, lrp, { hostname: `base-${i}.apps.localhost`, port: 8080 }, owner) });
});
const baseMs = performance.now() - t;
const baseRequests = kube.counter.total();

// ---- the shipped appliance ------------------------------------------------------------------------
const port = await freePort();
const proc = Bun.spawn([BIN, "local", "--port", String(port), "--data-dir", join(dir, "data"), "--config", configFile], { stdout: "pipe", stderr: "pipe", env: { ...process.env, EIRINI_ADMIN_PASSWORD: PASSWORD } });
let stderr = "";
void (async () => {
  for await (const c of proc.stderr) stderr += new TextDecoder().decode(c);
})();
const url = `http://127.0.0.1:${port}`;
await until("appliance ready", async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 60_000);
const tok = await fetch(`${url}/uaa/oauth/token`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
  body: new URLSearchParams({ grant_type: "password", username: "admin", password: PASSWORD }).toString(),
});
const token = ((await tok.json()) as { access_token: string }).access_token;
const api = async (method: string, path: string, body?: unknown): Promise<any> => {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
};
const space = (await api("GET", "/v3/spaces?names=dev")).resources[0].guid as string;
const appGuids: string[] = [];
await pool(Array.from({ length: N }, (_, i) => i), CONCURRENCY, async (i) => {
  const app = await api("POST", "/v3/apps", { name: `bench-${i}`, relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } });
  const pkg = await api("POST", "/v3/packages", { type: "docker", data: { image: "eirini-test/http:1" }, relationships: { app: { data: { guid: app.guid } } } });
  const b = await api("POST", "/v3/builds", { package: { guid: pkg.guid } });
  const droplet = await until("droplet", async () => (await api("GET", `/v3/builds/${b.guid}`)).droplet?.guid as string | undefined);
  await api("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
  appGuids.push(app.guid);
});
const stsCount = () => kube.list("statefulsets", NS).length;
kube.counter.reset();
t = performance.now();
await pool(appGuids, CONCURRENCY, async (g) => void (await api("POST", `/v3/apps/${g}/actions/start`)));
await until(`${N} StatefulSets`, () => stsCount() >= N);
const convergeMs = performance.now() - t;
// Apps made through the API have no routes and one instance: no Services, no PDBs. Let the
// pods' first status changes settle before counting.
await Bun.sleep(1000);
const cold = kube.counter.snapshot();
const coldTotal = kube.counter.total();
const rssConverged = rssMb(proc.pid);

// ---- steady state: relists, status churn and Sink full passes; writes must be 0 -----------------
kube.counter.reset();
const driftBefore = (stderr.match(/differs from its desired state/g) ?? []).length;
for (let round = 0; round < 3; round++) {
  kube.expireWatches({ compact: true });
  for (const p of kube.list("pods", NS).slice(0, 50)) kube.sim.run(NS, p.metadata.name, round % 2 === 0);
  await Bun.sleep(2_200); // a Sink full pass (every 2 s here) in each round
}
const steady = kube.counter.snapshot();
const steadyWrites = kube.counter.writes();
const driftLogs = (stderr.match(/differs from its desired state/g) ?? []).length - driftBefore;
const rssSteady = rssMb(proc.pid);
proc.kill("SIGTERM");
await proc.exited;

// ---- the same appliance from sources in plain bun: RSS before/after a forced full GC ------------
const runnerData = join(dir, "data"); // the same data: a restart that adopts the same LRPs
kube.counter.reset();
// Same port: the same appliance URL (cf_api in every pod's VCAP_APPLICATION), as a restart keeps it.
const runner = Bun.spawn([process.execPath, join(import.meta.dir, "appliance-runner.ts"), configFile, runnerData, String(port)], { stdin: "pipe", stdout: "pipe", stderr: "inherit", env: { ...process.env, EIRINI_ADMIN_PASSWORD: PASSWORD } });
const lines = runner.stdout.getReader();
const readLine = async () => {
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("runner ended early");
    buf += new TextDecoder().decode(value);
  }
  return JSON.parse(buf.split("\n")[0]!);
};
await readLine();
await Bun.sleep(3_000); // adopt and settle
const restartWrites = kube.counter.writes();
const restartRequests = kube.counter.snapshot();
runner.stdin.write("rss\n");
await runner.stdin.flush();
const gc = (await readLine()) as { rss: number; rssAfterGc: number };
runner.stdin.end();
await runner.exited;
await kube.stop();
rmSync(dir, { recursive: true, force: true });

printTable(
  `Cold converge of ${N} LRPs by the shipped appliance (${BIN.split("/").at(-1)} local --backend kube; apps started through the CF API, ${CONCURRENCY} at a time)`,
  ["requests", "count", "per LRP"],
  [...Object.entries(cold).map(([k, v]) => [k, v, fmt(v / N, 2)]), ["total", coldTotal, fmt(coldTotal / N, 2)]],
);
printTable("Wall time to all StatefulSets present", ["run", "ms", "requests"], [
  [`baseline: ${N} StatefulSets+PDBs+Services straight through client-node`, fmt(baseMs, 0), baseRequests],
  [`appliance: ${N} app starts -> ${N} StatefulSets`, fmt(convergeMs, 0), coldTotal],
]);
printTable("Steady state (3 rounds: watch expiry + relist, 50 pod status changes, a Sink full pass)", ["measure", "value", "target"], [
  ["Kubernetes writes", steadyWrites, "0"],
  ["'differs from its desired state' log lines", driftLogs, "0"],
  ["requests by verb/resource", JSON.stringify(steady), ""],
  [`appliance restart (same data) adopting ${N}: Kubernetes writes`, restartWrites, "0"],
  ["restart: requests by verb/resource", JSON.stringify(restartRequests), ""],
]);
printTable("Appliance RSS (MB)", ["process", "after converge", "steady", "after forced GC"], [
  ["shipped binary (no --smol)", fmt(rssConverged), fmt(rssSteady), "n/a (no hook in the binary)"],
  ["same sources, plain bun (no --smol), same data, adopted", "", fmt(gc.rss), fmt(gc.rssAfterGc)],
]);
if (steadyWrites !== 0 || driftLogs !== 0 || restartWrites !== 0) {
  console.log("steady state wrote or drifted: FAILED");
  process.exit(1);
}
process.exit(0);
