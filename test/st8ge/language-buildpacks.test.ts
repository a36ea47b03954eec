import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import type { LogLine } from "../../src/model/index.ts";
import { addRuntimeArchive, createStaging, installBuiltinBuildpacks, type Staging } from "../../src/st8ge/index.ts";
import { zipItems } from "../../src/st8ge/zip-dir.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { offlineArchive, runtimeArchive, type RuntimeArchive } from "../support/runtime-archives.ts";
import { bareStackPath, runOnBareStack } from "./bare-stack.ts";
import { failure, memorySink, tempDir, writeTree } from "./support.ts";

// Staging and the droplets run with PATH = a stack without node, python or go:
// every runtime comes from the runtime store, filled from an offline archive
// assembled from this machine's own files.
const root = tempDir("st8ge-lang-");
const stackPath = bareStackPath(root);
let store: Store;
let staging: Staging;
let server: ReturnType<typeof Bun.serve>;
const have: Partial<Record<"node" | "python" | "go", RuntimeArchive>> = {};

beforeAll(async () => {
  store = openStore(join(root, "data"));
  const config = loadConfig({ flags: { dataDir: store.dataDir, staging: { stackPath, defaultStack: "bare", dropletGzipLevel: 1 } } });
  staging = createStaging({ store, config, logSink: memorySink(), tokenKey: "k".repeat(64), baseUrl: () => `http://127.0.0.1:${server.port}` });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => staging.routes!.fetch(req) });
  await installBuiltinBuildpacks(staging.buildpacks, store.settings);
  const archives: RuntimeArchive[] = [];
  for (const n of ["node", "python", "go"] as const) {
    const a = await runtimeArchive(n);
    if ("reason" in a) console.log(`skipping ${n} apps: ${a.reason}`);
    else {
      have[n] = a;
      archives.push(a);
    }
  }
  await addRuntimeArchive(staging.runtimes.store, offlineArchive(root, archives, ["bare"]));
}, 240_000);
afterAll(() => {
  server?.stop(true);
  store?.close();
  // Hundreds of MB of runtimes and caches: removed here, with time to do it.
  rmSync(root, { recursive: true, force: true });
}, 60_000);

let n = 0;
async function stageAndRun(app: string, expectBody: string | RegExp) {
  const id = ++n;
  const lines: string[] = [];
  const r = await staging.stager.stage({ staging_guid: `stg-${id}`, app_guid: `app-${app.split("/").pop()}` }, { dir: app }, { subscribers: [(l: LogLine) => lines.push(l.message)] }).result;
  const running = await runOnBareStack(store.blobs.path(`sha256:${r.droplet_hash}`), join(root, `run-${id}`), r.start_command, stackPath);
  try {
    const body = await (await fetch(`http://127.0.0.1:${running.port}/`)).text();
    if (typeof expectBody === "string") expect(body).toContain(expectBody);
    else expect(body).toMatch(expectBody);
  } finally {
    running.stop();
  }
  return { r, lines };
}

describe("built-in buildpacks on a stack without runtimes", () => {
  test("Node.js: engines.node picks the runtime from the store; a re-staging takes it from the cache", async () => {
    if (!have.node) return;
    const major = have.node.version.split(".")[0];
    const app = writeTree(join(root, "node-app"), {
      "package.json": JSON.stringify({ name: "hello", engines: { node: `${major}.x` }, scripts: { start: "node server.js" } }),
      "server.js": `require("http").createServer((q, s) => s.end("hello from node " + process.version)).listen(process.env.PORT);`,
    });
    const first = await stageAndRun(app, `hello from node v${have.node.version}`);
    expect(first.lines).toContain(`-----> Installing node ${have.node.version}`);
    expect(first.r.buildpack_name).toBe("nodejs_buildpack");
    expect(first.r.start_command).toBe("node server.js");
    const again = await stageAndRun(app, `hello from node v${have.node.version}`);
    expect(again.lines).toContain(`-----> Using node ${have.node.version} from the cache`);
  }, 120_000);

  test("Node.js: npm ci from the runtime's npm with a lockfile; uploaded node_modules are used offline", async () => {
    if (!have.node) return;
    const locked = writeTree(join(root, "node-locked"), {
      "package.json": JSON.stringify({ name: "hello", version: "1.0.0", scripts: { start: "node server.js" }, dependencies: { greet: "file:vendor/greet" } }),
      "package-lock.json": JSON.stringify({
        name: "hello",
        version: "1.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: { "": { name: "hello", version: "1.0.0", dependencies: { greet: "file:vendor/greet" } }, "node_modules/greet": { resolved: "vendor/greet", link: true }, "vendor/greet": { version: "1.0.0" } },
      }),
      "vendor/greet/package.json": JSON.stringify({ name: "greet", version: "1.0.0", main: "index.js" }),
      "vendor/greet/index.js": 'module.exports = () => "greet via npm ci";\n',
      "server.js": 'require("http").createServer((q, r) => r.end(require("greet")())).listen(process.env.PORT);\n',
    });
    const ci = await stageAndRun(locked, "greet via npm ci");
    expect(ci.lines.some((l) => l.startsWith("-----> Installing dependencies with npm ci"))).toBe(true);
    const vendored = writeTree(join(root, "node-vendored"), {
      "package.json": JSON.stringify({ name: "v", dependencies: { greet: "1.0.0" } }),
      "node_modules/greet/package.json": JSON.stringify({ name: "greet", version: "1.0.0", main: "index.js" }),
      "node_modules/greet/index.js": 'module.exports = () => "greet from uploaded node_modules";\n',
      "server.js": 'require("http").createServer((q, r) => r.end(require("greet")())).listen(process.env.PORT);\n',
    });
    const v = await stageAndRun(vendored, "greet from uploaded node_modules");
    expect(v.lines).toContain("-----> Using the node_modules uploaded with the app (vendored: nothing is downloaded)");
    expect(v.r.start_command).toBe("node server.js");
  }, 120_000);

  test("Node.js: a version the store does not have fails staging with a message naming it", async () => {
    if (!have.node) return;
    const app = writeTree(join(root, "node-old"), { "package.json": JSON.stringify({ name: "old", engines: { node: "~4.2" } }), "server.js": "" });
    const err = await failure(staging.stager.stage({ staging_guid: "stg-missing", app_guid: "app-missing" }, { dir: app }).result);
    expect(err.message).toContain("runtime node ~4.2 for stack bare is not in this appliance's runtime store");
    expect(err.message).toContain(`it has ${have.node.version}`);
    expect(err.message).not.toMatch(/not found|No such file|command/);
  }, 60_000);

  test("Python: runtime.txt, pip installs the vendored wheel offline, python app.py", async () => {
    if (!have.python) return;
    const app = join(root, "py-app");
    writeTree(app, {
      "runtime.txt": `python-${have.python.version.split(".").slice(0, 2).join(".")}.x\n`,
      "requirements.txt": "hellowheel==1.0\n",
      "app.py": [
        "import os, http.server, hellowheel",
        "class H(http.server.BaseHTTPRequestHandler):",
        "    def do_GET(self):",
        "        self.send_response(200); self.end_headers(); self.wfile.write(hellowheel.GREETING.encode())",
        "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()",
      ].join("\n"),
    });
    const enc = new TextEncoder();
    const files: Record<string, string> = {
      "hellowheel/__init__.py": 'GREETING = "hello from a vendored wheel"\n',
      "hellowheel-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hellowheel\nVersion: 1.0\n",
      "hellowheel-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: eirini-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    };
    const record = [...Object.keys(files), "hellowheel-1.0.dist-info/RECORD"].map((p) => `${p},,`).join("\n") + "\n";
    files["hellowheel-1.0.dist-info/RECORD"] = record;
    writeTree(app, { "vendor/.keep": "" });
    writeFileSync(join(app, "vendor", "hellowheel-1.0-py3-none-any.whl"), zipItems(Object.entries(files).map(([path, t]) => ({ path, data: enc.encode(t), mode: 0o100644 }))));
    const { r, lines } = await stageAndRun(app, "hello from a vendored wheel");
    expect(r.buildpack_name).toBe("python_buildpack");
    expect(r.start_command).toBe("python app.py");
    expect(lines).toContain(`-----> Installing python ${have.python.version}`);
    expect(lines.some((l) => l.startsWith("-----> Installing requirements offline from vendor/"))).toBe(true);
  }, 120_000);

  test("Go: the go.mod version, go build -mod=vendor, a droplet with only the binary", async () => {
    if (!have.go) return;
    const app = writeTree(join(root, "go-app"), {
      "go.mod": "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n",
      "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\t"os"\n\n\t"example.com/greet"\n)\n\nfunc main() {\n\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, greet.Hello()) })\n\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)\n}\n',
      "vendor/modules.txt": "# example.com/greet v1.0.0\n## explicit\nexample.com/greet\n",
      "vendor/example.com/greet/greet.go": 'package greet\n\nfunc Hello() string { return "hello from vendored go" }\n',
    });
    const { r, lines } = await stageAndRun(app, "hello from vendored go");
    expect(r.buildpack_name).toBe("go_buildpack");
    expect(r.start_command).toBe("./bin/hello");
    expect(lines.some((l) => l.includes("-mod=vendor"))).toBe(true);
    const listing = Bun.spawnSync(["tar", "tzf", store.blobs.path(`sha256:${r.droplet_hash}`)]).stdout.toString().split("\n");
    expect(listing.filter((p) => p.startsWith("./app/") && !p.endsWith("/"))).toEqual(["./app/bin/hello"]);
    expect(listing.some((p) => p.includes("/go/bin/go"))).toBe(false);
  }, 180_000);

  test("static site: served by node from the store when the stack has no server", async () => {
    if (!have.node) return;
    const app = writeTree(join(root, "static-app"), { Staticfile: "", "index.html": "<h1>static on bare</h1>" });
    const { r } = await stageAndRun(app, "static on bare");
    expect(r.buildpack_name).toBe("staticfile_buildpack");
  }, 60_000);
});
