/**
 * Push benchmark, with the built binary (`EIRINI_BIN`, default dist/eirini):
 *
 * 1. `eirini push test-fixtures/node-hello --name <n> -m 64M`, timed from
 *    spawning the CLI to the first HTTP 200 through the router (target:
 *    median <= 3 s). Baseline measured in the same run: `node server.js` of
 *    the same app, from spawn to its first 200 (the app's own start time).
 * 2. Scale latency: `POST /v3/processes/:guid/actions/scale` to instances+1,
 *    then poll `/v3/processes/:guid/stats` until the new index is placed on a
 *    cell (it has a host), and until it is RUNNING (target: placed p50 <=
 *    100 ms). Baseline: one `GET .../stats` round trip, the poll's floor.
 */
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { answers200, until } from "../poll.ts";
import { fmt, median, percentile, printTable } from "../table.ts";

const ROOT = join(import.meta.dir, "../../..");
const BIN = process.env.EIRINI_BIN ?? join(ROOT, "dist/eirini");
const APP_DIR = join(ROOT, "test-fixtures/node-hello");
const PUSHES = Number(process.env.BENCH_PUSHES ?? 5);
const SCALE_STEPS = Number(process.env.BENCH_SCALE_STEPS ?? 15);
const PASSWORD = "bench-admin-password";

const tmp: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "eirini-bench-push-"));
  tmp.push(d);
  return d;
};

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

// ---- the appliance ----------------------------------------------------------

const dataDir = tempDir();
const home = tempDir();
const clientEnv = { ...process.env, HOME: home, EIRINI_CLIENT_CONFIG: join(home, "client.json") };
const appliance = Bun.spawn([BIN, "local", "--port", "0", "--data-dir", dataDir], {
  env: { ...process.env, EIRINI_ADMIN_PASSWORD: PASSWORD },
  stdout: "pipe",
  stderr: "pipe",
  stdin: "ignore",
});
let applianceOut = "";
let applianceErr = "";
const drain = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
  const dec = new TextDecoder();
  for await (const c of s) add(dec.decode(c, { stream: true }));
};
void drain(appliance.stdout, (t) => (applianceOut += t));
void drain(appliance.stderr, (t) => (applianceErr += t));

async function cleanup(): Promise<void> {
  if (appliance.exitCode === null) appliance.kill("SIGTERM");
  await appliance.exited;
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
}

async function eirini(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([BIN, ...args], { env: clientEnv, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

try {
  const api = await until(
    async () => {
      if (appliance.exitCode !== null) throw new Error(`eirini local exited with ${appliance.exitCode}: ${applianceErr.trim()}`);
      return /eirini listening on (\S+)/.exec(applianceOut)?.[1];
    },
    "eirini local to listen",
    20_000,
  );
  const port = Number(new URL(api).port);
  const login = await eirini(["login", "--api", api, "-p", PASSWORD]);
  if (login.code !== 0) throw new Error(`eirini login failed: ${login.out}`);
  const token = (JSON.parse(await Bun.file(join(home, "client.json")).text()) as { access_token: string }).access_token;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };

  // ---- 1. push to first 200 through the router ------------------------------
  const push: { name: string; cliMs: number; firstOkMs: number }[] = [];
  for (let i = 0; i < PUSHES; i++) {
    const name = `bench-hello-${i}`;
    const url = `http://${name}.apps.localhost:${port}/`;
    const t0 = performance.now();
    const cli = Bun.spawn([BIN, "push", APP_DIR, "--name", name, "-m", "64M"], { env: clientEnv, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    let cliMs = 0;
    const cliDone = Promise.all([new Response(cli.stdout).text(), new Response(cli.stderr).text(), cli.exited]).then(([out, err, code]) => {
      cliMs = performance.now() - t0;
      return { out: out + err, code };
    });
    let failed: string | undefined;
    void cliDone.then((r) => (r.code !== 0 ? (failed = r.out) : undefined));
    await until(
      async () => {
        if (failed !== undefined) throw new Error(`eirini push ${name} failed: ${failed}`);
        return answers200(url);
      },
      `${url} to answer 200`,
    );
    const firstOkMs = performance.now() - t0;
    const r = await cliDone;
    if (r.code !== 0) throw new Error(`eirini push ${name} failed: ${r.out}`);
    push.push({ name, cliMs, firstOkMs });
  }

  // Baseline: the same app started directly with node, spawn to first 200.
  const direct: number[] = [];
  for (let i = 0; i < PUSHES; i++) {
    const p = await freePort();
    const t0 = performance.now();
    const proc: Subprocess = Bun.spawn(["node", "server.js"], { cwd: APP_DIR, env: { ...process.env, PORT: String(p) }, stdout: "ignore", stderr: "ignore" });
    try {
      await until(() => answers200(`http://127.0.0.1:${p}/`), "node server.js to answer", 10_000, 1);
      direct.push(performance.now() - t0);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }

  const first = push.map((p) => p.firstOkMs);
  const cliExit = push.map((p) => p.cliMs);
  printTable(
    `eirini push test-fixtures/node-hello -m 64M to first HTTP 200 through the router (${PUSHES} pushes, distinct names)`,
    ["subject", "median ms", "p90 ms", "min ms", "max ms", "target"],
    [
      ["eirini push: spawn -> first 200 via router", fmt(median(first)), fmt(percentile(first, 90)), fmt(Math.min(...first)), fmt(Math.max(...first)), "median <= 3000 ms"],
      ["eirini push: spawn -> CLI exit", fmt(median(cliExit)), fmt(percentile(cliExit, 90)), fmt(Math.min(...cliExit)), fmt(Math.max(...cliExit)), ""],
      ["baseline: node server.js, spawn -> first 200", fmt(median(direct)), fmt(percentile(direct, 90)), fmt(Math.min(...direct)), fmt(Math.max(...direct)), ""],
    ],
  );
  printTable("each push", ["app", "spawn -> first 200 ms", "spawn -> CLI exit ms"], push.map((p) => [p.name, fmt(p.firstOkMs), fmt(p.cliMs)]));

  // ---- 2. scale until the new instance is placed ----------------------------
  // The apps pushed above keep running; scale the first one from 1 to 1 + SCALE_STEPS.
  const app = (await call<{ resources: { guid: string }[] }>("GET", `/v3/apps?names=${push[0]!.name}`)).resources[0]!;
  const web = await call<{ guid: string; instances: number }>("GET", `/v3/apps/${app.guid}/processes/web`);
  type Stat = { index: number; state: string; host: string };
  const stats = () => call<{ resources: Stat[] }>("GET", `/v3/processes/${web.guid}/stats`).then((r) => r.resources);

  const statsRtt: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await stats();
    statsRtt.push(performance.now() - t0);
  }

  const placedMs: number[] = [];
  const runningMs: number[] = [];
  let instances = web.instances;
  for (let step = 0; step < SCALE_STEPS; step++) {
    const target = instances + 1;
    const newIndex = target - 1;
    const t0 = performance.now();
    await call("POST", `/v3/processes/${web.guid}/actions/scale`, { instances: target });
    let placed = 0;
    await until(
      async () => {
        const s = (await stats()).find((x) => x.index === newIndex);
        if (s && s.host !== "" && !placed) placed = performance.now() - t0;
        return s?.state === "RUNNING";
      },
      `instance ${newIndex} to run`,
      30_000,
      2,
    );
    placedMs.push(placed);
    runningMs.push(performance.now() - t0);
    instances = target;
  }
  printTable(
    `scale web by +1 instance (${SCALE_STEPS} steps, ${web.instances} -> ${instances}), polling /v3/processes/:guid/stats every 2 ms`,
    ["subject", "p50 ms", "p90 ms", "max ms", "target"],
    [
      ["POST scale -> new index placed (has a cell/host)", fmt(median(placedMs)), fmt(percentile(placedMs, 90)), fmt(Math.max(...placedMs)), "p50 <= 100 ms"],
      ["POST scale -> new index RUNNING (node up, health check passed)", fmt(median(runningMs)), fmt(percentile(runningMs, 90)), fmt(Math.max(...runningMs)), ""],
      ["baseline: one GET /v3/processes/:guid/stats round trip", fmt(median(statsRtt), 2), fmt(percentile(statsRtt, 90), 2), fmt(Math.max(...statsRtt), 2), ""],
    ],
  );
} finally {
  await cleanup();
}
