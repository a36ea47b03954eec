/**
 * Staging time of each language's test app on the local backend, on a stack
 * without runtimes (PATH = plain tools: no node, python or go), with the
 * runtimes from the runtime store: cold (a new app: no buildpack cache, the
 * runtime is fetched from the appliance and unpacked) and warm (a re-staging
 * of the same app: runtime and package caches from the previous staging).
 * Baselines measured in the same run: the lifecycle floor (an empty app with
 * binary_buildpack) and `tar czf` (gzip -1) of the node runtime tree, the
 * unavoidable cost of a droplet that carries it.
 * Goal: warm re-staging of the Node.js app <= 1 s.
 *
 *   bun scripts/bench/staging-languages/index.ts [--runs 3]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../../src/config/index.ts";
import { addRuntimeArchive, createStaging, installBuiltinBuildpacks } from "../../../src/st8ge/index.ts";
import { zipItems } from "../../../src/st8ge/zip-dir.ts";
import { openStore } from "../../../src/store/index.ts";
import { bareStackPath } from "../../../test/support/bare-stack-path.ts";
import { offlineArchive, runtimeArchive, type RuntimeArchive } from "../../../test/support/runtime-archives.ts";
import { fmt, median, printTable } from "../table.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const RUNS = Number(values.runs);
const ROOT = join(tmpdir(), `eirini-bench-staging-languages-${process.pid}`);

function write(dir: string, files: Record<string, string | Uint8Array>): string {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

function wheel(): Uint8Array {
  const enc = new TextEncoder();
  const f: Record<string, string> = {
    "hellowheel/__init__.py": 'GREETING = "hi"\n',
    "hellowheel-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hellowheel\nVersion: 1.0\n",
    "hellowheel-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
  };
  f["hellowheel-1.0.dist-info/RECORD"] = [...Object.keys(f), "hellowheel-1.0.dist-info/RECORD"].map((p) => `${p},,`).join("\n") + "\n";
  return zipItems(Object.entries(f).map(([path, t]) => ({ path, data: enc.encode(t), mode: 0o100644 })));
}

async function main(): Promise<void> {
  mkdirSync(ROOT, { recursive: true });
  const stackPath = bareStackPath(ROOT);
  const store = openStore(join(ROOT, "data"));
  let server: ReturnType<typeof Bun.serve> | undefined;
  try {
    const config = loadConfig({ flags: { dataDir: store.dataDir, staging: { stackPath, defaultStack: "bare" } } });
    const staging = createStaging({ store, config, logSink: { append() {} }, tokenKey: "b".repeat(64), baseUrl: () => `http://127.0.0.1:${server!.port}` });
    server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => staging.routes!.fetch(req) });
    await installBuiltinBuildpacks(staging.buildpacks, store.settings);
    const have: Partial<Record<string, RuntimeArchive>> = {};
    const archives: RuntimeArchive[] = [];
    for (const n of ["node", "python", "go"] as const) {
      const a = await runtimeArchive(n);
      if ("reason" in a) console.log(`(no ${n} app: ${a.reason})`);
      else {
        have[n] = a;
        archives.push(a);
      }
    }
    await addRuntimeArchive(staging.runtimes.store, offlineArchive(ROOT, archives, ["bare"]));

    const apps: Array<{ name: string; dir: string; buildpacks?: string[] }> = [];
    apps.push({ name: "empty app, binary_buildpack (floor)", dir: write(join(ROOT, "empty"), { Procfile: "web: ./x\n" }), buildpacks: ["binary_buildpack"] });
    if (have.node) apps.push({ name: "Node.js", dir: write(join(ROOT, "node"), { "package.json": JSON.stringify({ name: "n", engines: { node: "*" }, scripts: { start: "node server.js" } }), "server.js": "" }) });
    if (have.python) apps.push({ name: "Python (vendored wheel)", dir: write(join(ROOT, "python"), { "requirements.txt": "hellowheel==1.0\n", "app.py": "", "vendor/hellowheel-1.0-py3-none-any.whl": wheel() }) });
    if (have.go) {
      apps.push({
        name: "Go (vendor/)",
        dir: write(join(ROOT, "go"), {
          "go.mod": "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n",
          "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n',
          "vendor/modules.txt": "# example.com/greet v1.0.0\n## explicit\nexample.com/greet\n",
          "vendor/example.com/greet/greet.go": 'package greet\n\nfunc Hello() string { return "hi" }\n',
        }),
      });
    }
    if (have.node) apps.push({ name: "static site", dir: write(join(ROOT, "static"), { Staticfile: "", "index.html": "<p>hi</p>" }) });

    let n = 0;
    const stage = async (app: string, dir: string, buildpacks?: string[]) => {
      const t = performance.now();
      await staging.stager.stage({ staging_guid: `b${++n}`, app_guid: app, ...(buildpacks ? { buildpacks: buildpacks.map((name) => ({ name, skip_detect: true })) } : {}) }, { dir }).result;
      return performance.now() - t;
    };
    const rows: (string | number)[][] = [];
    let nodeWarm = NaN;
    for (const a of apps) {
      const cold: number[] = [];
      const warm: number[] = [];
      for (let r = 0; r < Math.max(1, Math.min(RUNS, 2)); r++) {
        const guid = `cold-${a.name.replace(/\W+/g, "-")}-${r}`;
        cold.push(await stage(guid, a.dir, a.buildpacks));
        if (r === 0) for (let w = 0; w < RUNS; w++) warm.push(await stage(guid, a.dir, a.buildpacks));
      }
      if (a.name === "Node.js") nodeWarm = median(warm);
      rows.push([a.name, fmt(median(cold) / 1000, 2), fmt(median(warm) / 1000, 2)]);
    }
    if (have.node) {
      const dir = join(ROOT, "node-tree");
      mkdirSync(dir);
      Bun.spawnSync(["tar", "-xzf", have.node.file, "-C", dir]);
      const t = performance.now();
      Bun.spawnSync(["sh", "-c", `tar -C "${dir}" -cf - . | gzip -1 > "${join(ROOT, "node-tree.tgz")}"`]);
      rows.push(["baseline: tar | gzip -1 of the node runtime", "", fmt((performance.now() - t) / 1000, 2)]);
    }
    printTable(`staging on a stack without runtimes, local backend (median; cold of ${Math.min(RUNS, 2)}, warm of ${RUNS})`, ["app", "cold s", "warm s"], rows);
    if (have.node) console.log(`\ngoal: warm re-staging of the Node.js app <= 1 s: ${nodeWarm <= 1000 ? "met" : "NOT met"} (${fmt(nodeWarm / 1000, 2)} s)`);
  } finally {
    server?.stop(true);
    store.close();
    rmSync(ROOT, { recursive: true, force: true });
  }
}

await main();
