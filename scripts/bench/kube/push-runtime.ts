/**
 * `cf push test-fixtures/node-hello` on `--backend kube` where the pods are
 * run by the real runtime (containerd + runc, test/support/kube/
 * runtime-session.ts): time from spawning `cf push` to the first HTTP 200
 * through the router, and to `cf push` returning. Goal: first 200 <= 3 s.
 * One warm-up push first (containerd pulls the stack image once, as a node
 * with a warm image cache would have it). Baseline in the same run: the
 * app's own start, `node server.js` from spawn to its first 200.
 *
 * Usage: bun scripts/bench/kube/push-runtime.ts [pushes=3]   (needs root)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "../../../test/support/cf-cli.ts";
import { pushed, startRuntimeSession } from "../../../test/support/kube/runtime-session.ts";
import { cleanupTempDirs } from "../../../test/support/tmp.ts";
import { fmt, median, printTable } from "../table.ts";

const PUSHES = Number(process.argv[2] ?? 3);
// The shipped binary (EIRINI_BIN, dist/eirini from `make build`), else one compiled from these sources.
if (process.env.EIRINI_BIN && !existsSync(process.env.EIRINI_BIN)) delete process.env.EIRINI_BIN;

async function firstOk(probe: () => Promise<Response>, timeoutMs = 120_000): Promise<number> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      const r = await probe();
      await r.arrayBuffer();
      if (r.status === 200) return performance.now();
    } catch {
      // not yet
    }
    await Bun.sleep(10);
  }
  throw new Error("no 200 in time");
}

const s = await startRuntimeSession();
if ("skip" in s) {
  console.log(`skip kube push benchmark: ${s.skip}`);
  process.exit(0);
}
const app = join(FIXTURES, "node-hello");
const rows: (string | number)[][] = [];
const firsts: number[] = [];
const cfFirsts: number[] = [];
try {
  const warm = await s.cf(["push", "warm-up", "-p", app, "-m", "256M"], { timeoutMs: 300_000 });
  if (!pushed(warm)) throw new Error(`warm-up push failed:\n${warm.out}`);
  for (const client of ["eirini", "cf"] as const) {
    for (let i = 0; i < PUSHES; i++) {
      const name = `${client}-bench-${i}`;
      const t0 = performance.now();
      const ok = firstOk(() => s.route(name, "/"));
      const run = client === "cf" ? s.cf(["push", name, "-p", app, "-m", "256M"], { timeoutMs: 300_000 }) : s.eiriniCli(["push", app, "--name", name, "-m", "256M"], { timeoutMs: 300_000 });
      const push = run.then((r) => ({ r, at: performance.now() }));
      const [first, done] = await Promise.all([ok, push]);
      if (!pushed(done.r)) throw new Error(`push ${name} failed:\n${done.r.out}`);
      (client === "cf" ? cfFirsts : firsts).push(first - t0);
      rows.push([`${client} push ${name}`, fmt(first - t0, 0), fmt(done.at - t0, 0)]);
      await (client === "cf" ? s.cf(["delete", name, "-f"]) : s.eiriniCli(["delete", name]));
    }
  }
} finally {
  await s.stop();
  cleanupTempDirs();
}

// Baseline: the same app started directly with node, spawn to first 200.
const base: number[] = [];
for (let i = 0; i < 3; i++) {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const t0 = performance.now();
  const p = Bun.spawn(["node", "server.js"], { cwd: app, env: { ...process.env, PORT: String(port) }, stdout: "ignore", stderr: "ignore" });
  const at = await firstOk(() => fetch(`http://127.0.0.1:${port}/`), 10_000);
  base.push(at - t0);
  p.kill();
  await p.exited;
}

printTable(`push node-hello on --backend kube, pods by containerd + runc (after one warm-up push)`, ["push", "first 200 through the router ms", "cf push returned ms"], rows);
printTable("Summary", ["measure", "median ms", "goal"], [
  ["eirini push -> first 200 (kube backend, real runtime)", fmt(median(firsts), 0), "<= 3000"],
  ["cf push (cf7) -> first 200 (the CLI polls the build every 3 s)", fmt(median(cfFirsts), 0), ""],
  ["baseline: node server.js spawn -> first 200", fmt(median(base), 0), ""],
]);
process.exit(0);
