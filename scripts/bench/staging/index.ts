/**
 * Staging benchmark: st8ge staging a 5,000-file (~50 MB) app package with the
 * binary buildpack, against the floor measured in the same run on the same
 * zip (`unzip` of the package, then `tar czf` of the result: the unavoidable
 * unpack + pack work); plus the lifecycle overhead of staging an (almost)
 * empty app. Stagings run in-process through createStaging, as the Cloud
 * Controller's builds call it; `dist/eirini stage` (or $EIRINI_BIN) is timed
 * too when built with the `stage` command. Wall and CPU time are both shown:
 * on a shared machine CPU time (ours: this process and its children; the
 * floor's: the tools') is the steadier comparison. A second table splits the
 * floor into unpack and pack against st8ge's code for each, to show where
 * the time goes.
 *
 *   bun scripts/bench/staging/index.ts [--files 5000] [--kib 10] [--runs 3] [--empty-runs 25]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../../src/config/index.ts";
import { createStaging, installBuiltinBuildpacks, packTree } from "../../../src/st8ge/index.ts";
import { unzipFile } from "../../../src/st8ge/unpack/unzip.ts";
import { openStore } from "../../../src/store/index.ts";
import { fmt, median, percentile, printTable } from "../table.ts";

const { values } = parseArgs({ options: { files: { type: "string", default: "5000" }, kib: { type: "string", default: "10" }, runs: { type: "string", default: "3" }, "empty-runs": { type: "string", default: "25" } } });
const FILES = Number(values.files);
const KIB = Number(values.kib);
const RUNS = Number(values.runs);
const EMPTY_RUNS = Number(values["empty-runs"]);
const ROOT = join(tmpdir(), `eirini-bench-staging-${process.pid}`);

/** CPU seconds a child used: on a shared machine CPU time is the steadier measure, wall time the user's. */
let childCpuUs = 0;
function sh(argv: string[], cwd?: string): void {
  const r = Bun.spawnSync(argv, { cwd, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  childCpuUs += Number(r.resourceUsage?.cpuTime.total ?? 0n);
}

/** This process's CPU (user + system) plus that of its waited-for children (/proc/self/stat cutime + cstime), in µs. */
function ownCpuUs(): number {
  const u = process.cpuUsage();
  const stat = require("node:fs").readFileSync("/proc/self/stat", "latin1") as string;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return u.user + u.system + (Number(f[13]) + Number(f[14])) * 10_000;
}

/** An app of FILES files in 50 directories; half random base64 text, half repetitive source-like text. */
function makeApp(dir: string): number {
  let total = 0;
  const size = KIB * 1024;
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `pkg${i % 50}`);
    if (i < 50) mkdirSync(sub, { recursive: true });
    let data: string;
    if (i % 2 === 0) {
      data = Buffer.from(crypto.getRandomValues(new Uint8Array((size * 3) / 4))).toString("base64").slice(0, size);
    } else {
      data = `// module ${i}\nexport function f${i}(x) { return x * ${i} + ${i % 7}; }\n`.repeat(Math.ceil(size / 60)).slice(0, size);
    }
    writeFileSync(join(sub, `file${i}.js`), data);
    total += data.length;
  }
  writeFileSync(join(dir, "Procfile"), "web: ./start\n");
  return total;
}

function timeIt(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  mkdirSync(ROOT, { recursive: true });
  try {
    const app = join(ROOT, "app");
    const bytes = makeApp(app);
    const zip = join(ROOT, "package.zip");
    sh(["zip", "-qr", zip, "."], app);
    const zipBytes = Bun.file(zip).size;

    // Floor: unzip + tar czf, the same work without any lifecycle around it. Measured in the same rounds as
    // st8ge's staging, alternating which goes first: file creation and the background removal of earlier
    // work dirs load the disk, and a floor measured alone on a quiet disk flattered nobody but the floor.
    const floor: number[] = [];
    const floorCpu: number[] = [];
    const floorRun = (i: number) => {
      const x = join(ROOT, `floor-${i}`);
      childCpuUs = 0;
      floor.push(timeIt(() => {
        sh(["unzip", "-q", zip, "-d", x]);
        sh(["tar", "czf", `${x}.tgz`, "-C", x, "."]);
      }));
      floorCpu.push(childCpuUs / 1000);
      rmSync(x, { recursive: true, force: true });
      rmSync(`${x}.tgz`, { force: true });
    };

    // Where the time goes: each half of the floor against st8ge's own code for it, same zip, same run.
    const phases = { unzip: [] as number[], unzipFile: [] as number[], tar: [] as number[], packTree: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const a = join(ROOT, `phase-cli-${i}`);
      const b = join(ROOT, `phase-st8ge-${i}`);
      phases.unzip.push(timeIt(() => sh(["unzip", "-q", zip, "-d", a])));
      let t = performance.now();
      await unzipFile(zip, b);
      phases.unzipFile.push(performance.now() - t);
      phases.tar.push(timeIt(() => sh(["tar", "czf", `${a}.tgz`, "-C", a, "."])));
      t = performance.now();
      await packTree(b, `${b}.tgz`, 6);
      phases.packTree.push(performance.now() - t);
      for (const p of [a, b, `${a}.tgz`, `${b}.tgz`]) rmSync(p, { recursive: true, force: true });
    }

    const dataDir = join(ROOT, "data");
    const store = openStore(dataDir);
    const staging = createStaging({ store, config: loadConfig({ flags: { dataDir } }), logSink: { append() {} } });
    await installBuiltinBuildpacks(staging.buildpacks, store.settings);
    const oursCpu: number[] = [];
    const stage = async (pkg: string, guid: string) => {
      const t = performance.now();
      const c = ownCpuUs();
      const r = await staging.stager.stage({ staging_guid: guid, app_guid: "bench-app", buildpacks: [{ name: "binary", skip_detect: true }] }, { zip: pkg }).result;
      const ms = performance.now() - t;
      if (pkg === zip && !guid.startsWith("warm")) oursCpu.push((ownCpuUs() - c) / 1000);
      store.blobs.delete(`sha256:${r.droplet_hash}`);
      return ms;
    };
    await stage(zip, "warm");
    floorRun(-1); // warm-up of the floor too, not counted
    floor.length = 0;
    floorCpu.length = 0;
    const ours: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        floorRun(i);
        ours.push(await stage(zip, `big-${i}`));
      } else {
        ours.push(await stage(zip, `big-${i}`));
        floorRun(i);
      }
    }

    const cliRuns: number[] = [];
    const bin = process.env.EIRINI_BIN ?? join(import.meta.dir, "../../../dist/eirini");
    // A stale build without `stage` is skipped rather than failing the whole benchmark.
    if ((await Bun.file(bin).exists()) && Bun.spawnSync([bin, "stage", "--help"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) {
      for (let i = 0; i < RUNS; i++) {
        const out = join(ROOT, `cli-${i}.tgz`);
        cliRuns.push(timeIt(() => sh([bin, "stage", zip, "-b", "binary", "-o", out, "--data-dir", join(ROOT, "cli-data")])));
        rmSync(out, { force: true });
      }
    }

    const emptyDir = join(ROOT, "empty");
    mkdirSync(emptyDir);
    writeFileSync(join(emptyDir, "Procfile"), "web: ./start\n");
    const emptyZip = join(ROOT, "empty.zip");
    sh(["zip", "-qr", emptyZip, "."], emptyDir);
    await stage(emptyZip, "warm-empty");
    const empty: number[] = [];
    for (let i = 0; i < EMPTY_RUNS; i++) empty.push(await stage(emptyZip, `empty-${i}`));
    store.close();

    const mb = (n: number) => `${fmt(n / 1024 / 1024)} MB`;
    const fm = median(floor);
    const fc = median(floorCpu);
    const rows: (string | number)[][] = [
      ["floor: unzip + tar czf", fmt(fm, 0), "1.00x", fmt(fc, 0), "1.00x"],
      ["st8ge stage -b binary (in-process)", fmt(median(ours), 0), `${fmt(median(ours) / fm, 2)}x`, fmt(median(oursCpu), 0), `${fmt(median(oursCpu) / fc, 2)}x`],
    ];
    if (cliRuns.length) rows.push(["dist/eirini stage -b binary (whole CLI)", fmt(median(cliRuns), 0), `${fmt(median(cliRuns) / fm, 2)}x`, "", ""]);
    printTable(`Staging ${FILES} files, ${mb(bytes)} (zip ${mb(zipBytes)}), median of ${RUNS} alternating rounds (target <= 1.30x floor)`, ["what", "wall ms", "vs floor", "cpu ms", "vs floor"], rows);
    printTable(`Where the time goes, median of ${RUNS}`, ["phase", "floor tool", "ms", "st8ge", "ms", "ratio"], [
      ["unpack", "unzip -q", fmt(median(phases.unzip), 0), "unzipFile (CRC, limits, safe tree)", fmt(median(phases.unzipFile), 0), `${fmt(median(phases.unzipFile) / median(phases.unzip), 2)}x`],
      ["pack", "tar czf", fmt(median(phases.tar), 0), "packTree (tar + gzip + sha256)", fmt(median(phases.packTree), 0), `${fmt(median(phases.packTree) / median(phases.tar), 2)}x`],
    ]);
    printTable(`Empty-app staging overhead, ${EMPTY_RUNS} runs (target median <= 150 ms)`, ["what", "median ms", "p90 ms", "min ms"], [
      ["st8ge stage -b binary, Procfile-only app", fmt(median(empty)), fmt(percentile(empty, 90)), fmt(Math.min(...empty))],
    ]);
  } finally {
    rmSync(ROOT, { recursive: true, force: true });
  }
}

await main();
