/**
 * `cf push` with the stock cf CLI v7 (`CF7_BIN`, default /opt/real/cf/cf7)
 * against the built binary (`EIRINI_BIN`, default dist/eirini), beside
 * `eirini push` of the same app in the same run.
 *
 * Each figure is from spawning the CLI to its exit 0 with the route
 * answering 200 through the router (checked right at exit; if it did not
 * answer yet, the time it first does). Rows:
 * - cf7 push of test-fixtures/node-hello under a new app name (the first
 *   one uploads the bits, and the CLI itself sleeps 1 s after every upload,
 *   util/progressbar Complete(); later ones find every file in the resource cache);
 * - cf7 push again of the same app (every file in the resource cache: no upload);
 * - eirini push of the same app as a new app (the baseline of this run).
 * Target (issue 10): median cf7 push <= 1500 ms.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { answers200, until } from "../poll.ts";
import { fmt, median, percentile, printTable } from "../table.ts";

const ROOT = join(import.meta.dir, "../../..");
const BIN = process.env.EIRINI_BIN ?? join(ROOT, "dist/eirini");
const CF7 = process.env.CF7_BIN ?? "/opt/real/cf/cf7";
const APP_DIR = join(ROOT, "test-fixtures/node-hello");
const PUSHES = Number(process.env.BENCH_PUSHES ?? 7);
const PASSWORD = "bench-admin-password";

if (!existsSync(CF7)) {
  console.log(`SKIP cf-push bench: no cf7 binary at ${CF7} (set CF7_BIN)`);
  process.exit(0);
}

const tmp: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "eirini-bench-cf-push-"));
  tmp.push(d);
  return d;
};

const dataDir = tempDir();
const home = tempDir();
const cfHome = tempDir();
const clientEnv = { ...process.env, HOME: home, EIRINI_CLIENT_CONFIG: join(home, "client.json") };
const cfEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cfHome, CF_HOME: cfHome, CF_COLOR: "false" };
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

async function run(cmd: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

/** Spawn -> exit 0, then -> route answering (at once, or the moment it first does). */
async function timedPush(cmd: string[], env: Record<string, string | undefined>, url: string): Promise<number> {
  const t0 = performance.now();
  const r = await run(cmd, env);
  if (r.code !== 0) throw new Error(`${cmd.slice(0, 3).join(" ")} failed (${r.code}): ${r.out}`);
  await until(() => answers200(url), `${url} to answer`, 30_000, 1);
  return performance.now() - t0;
}

let code = 0;
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
  const url = (name: string) => `http://${name}.apps.localhost:${port}/`;
  for (const args of [["api", api, "--skip-ssl-validation"], ["auth", "admin", PASSWORD], ["target", "-o", "eirini", "-s", "dev"]]) {
    const r = await run([CF7, ...args], cfEnv);
    if (r.code !== 0) throw new Error(`cf ${args[0]} failed: ${r.out}`);
  }
  const login = await run([BIN, "login", "--api", api, "-p", PASSWORD], clientEnv);
  if (login.code !== 0) throw new Error(`eirini login failed: ${login.out}`);

  const cfNew: number[] = [];
  const cfAgain: number[] = [];
  const eiriniNew: number[] = [];
  // Interleaved, so the three share whatever the machine is doing at the time.
  for (let i = 0; i < PUSHES; i++) {
    const name = `cf-hello-${i}`;
    cfNew.push(await timedPush([CF7, "push", name, "-p", APP_DIR, "-m", "64M"], cfEnv, url(name)));
    cfAgain.push(await timedPush([CF7, "push", name, "-p", APP_DIR, "-m", "64M"], cfEnv, url(name)));
    const en = `eirini-hello-${i}`;
    eiriniNew.push(await timedPush([BIN, "push", APP_DIR, "--name", en, "-m", "64M"], clientEnv, url(en)));
  }
  const row = (label: string, xs: number[], target = "") => [label, fmt(median(xs)), fmt(percentile(xs, 90)), fmt(Math.min(...xs)), fmt(Math.max(...xs)), target];
  printTable(
    `push test-fixtures/node-hello -m 64M: spawn -> exit 0 with the route answering (${PUSHES} each, interleaved)`,
    ["subject", "median ms", "p90 ms", "min ms", "max ms", "target"],
    [
      row("cf7 push, new app name", cfNew, "median <= 1500 ms"),
      row("cf7 push, same app again (resource cache)", cfAgain, "median <= 1500 ms"),
      row("baseline: eirini push, new app", eiriniNew),
    ],
  );
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  code = 1;
} finally {
  if (appliance.exitCode === null) appliance.kill("SIGTERM");
  await appliance.exited;
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
}
process.exit(code);
