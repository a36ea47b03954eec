/**
 * Start-up benchmark: time from process spawn to `/readyz` 200 for
 * `dist/eirini local`, its idle RSS, and the binary size, against a baseline
 * measured in the same run: the same Bun runtime serving one route.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, median, percentile, printTable, rssMb } from "../table.ts";

const BIN = process.env.EIRINI_BIN ?? join(import.meta.dir, "../../../dist/eirini");
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function untilReady(url: string, proc: { exitCode: number | null }): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(1);
  }
  throw new Error(`${url} not ready within 10 s`);
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

async function measure(cmd: (port: number, dir: string) => string[], path: string) {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), "eirini-bench-"));
    const port = await freePort();
    const t0 = performance.now();
    const proc = Bun.spawn(cmd(port, dir), { stdout: "ignore", stderr: "ignore", env: { ...process.env, EIRINI_ADMIN_PASSWORD: "bench-pass" } });
    await untilReady(`http://127.0.0.1:${port}${path}`, proc);
    times.push(performance.now() - t0);
    await Bun.sleep(300);
    rss.push(rssMb(proc.pid));
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return { times, rss };
}

const baselineScript = join(mkdtempSync(join(tmpdir(), "eirini-bench-")), "hello.ts");
await Bun.write(baselineScript, `Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: () => new Response("ok") });`);

const eirini = await measure((port, dir) => [BIN, "local", "--port", String(port), "--data-dir", dir], "/readyz");
const eiriniWarm = await (async () => {
  // Second start on an existing data dir (no first-start work: admin hash, migrations).
  const dir = mkdtempSync(join(tmpdir(), "eirini-bench-"));
  const first = Bun.spawn([BIN, "local", "--port", String(await freePort()), "--data-dir", dir], { stdout: "pipe", stderr: "ignore" });
  for await (const c of first.stdout) if (new TextDecoder().decode(c).includes("listening")) break;
  first.kill("SIGTERM");
  await first.exited;
  const r = await measure((port) => [BIN, "local", "--port", String(port), "--data-dir", dir], "/readyz");
  rmSync(dir, { recursive: true, force: true });
  return r;
})();
const baseline = await measure((port) => [process.execPath, baselineScript, String(port)], "/");

printTable(
  `start-up to /readyz (${RUNS} runs each)`,
  ["subject", "median ms", "p90 ms", "idle RSS MB (median)", "target"],
  [
    ["dist/eirini local, first start (new data dir)", fmt(median(eirini.times)), fmt(percentile(eirini.times, 90)), fmt(median(eirini.rss)), "median <= 300 ms, RSS <= 80 MB"],
    ["dist/eirini local, restart (existing data dir)", fmt(median(eiriniWarm.times)), fmt(percentile(eiriniWarm.times, 90)), fmt(median(eiriniWarm.rss)), ""],
    ["baseline: bun hello-world server", fmt(median(baseline.times)), fmt(percentile(baseline.times, 90)), fmt(median(baseline.rss)), ""],
  ],
);
printTable("binary", ["file", "size MB"], [[BIN, fmt(statSync(BIN).size / 1024 / 1024)]]);
