import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerHost } from "../../src/container/index.ts";
import { zipItems } from "../../src/st8ge/zip-dir.ts";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { offlineArchive, runtimeArchive, type RuntimeArchive } from "../support/runtime-archives.ts";
import { standInStack } from "../support/stack-rootfs.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { containersUnavailable } from "../opi/local/container-harness.ts";

/**
 * The local backend with container isolation on the "bare" stand-in stack
 * (no node, no python): `cf push` stages in a runc container that gets its
 * runtimes from the runtime store (added through the admin API), and the app
 * runs in a container that sees only the stack and its droplet; it answers
 * through the router.
 */
// Runtimes, go build caches and droplets: big temp dirs, given time to go.
afterAll(cleanupTempDirs, 120_000);
const why = await containersUnavailable();
if (why) test.skip(`languages on the bare stack in local containers: ${why}`, () => {});

describeCf(why ? "languages on the bare stack in local containers (skipped)" : "languages on the bare stack in local containers", () => {
  if (why) return;
  let s: CfSession;
  const have: Partial<Record<"node" | "python" | "go", RuntimeArchive>> = {};
  const root = tempDir("eirini-lang-local-");
  beforeAll(async () => {
    const stack = await standInStack("bare");
    s = await startCfSession({ env: { EIRINI_LOCAL__STACK: stack.rootfs!, EIRINI_LOCAL__ISOLATION: "container" } });
    const archives: RuntimeArchive[] = [];
    for (const n of ["node", "python", "go"] as const) {
      const a = await runtimeArchive(n);
      if (!("reason" in a)) {
        have[n] = a;
        archives.push(a);
      }
    }
    const token = (await s.ok(["oauth-token"])).stdout.trim();
    const res = await fetch(`${s.url}/st8ge/runtimes`, { method: "POST", headers: { authorization: token }, body: Bun.file(offlineArchive(root, archives, ["cflinuxfs4"])) });
    expect(res.status).toBe(201);
  }, 300_000);
  afterAll(async () => {
    await s?.stop();
    if (s) {
      const host = new ContainerHost({ stateDir: join(s.dataDir, "opi-local", "containers") });
      for (const id of host.list()) await host.destroy(id).catch(() => {});
      await host.teardownIfIdle().catch(() => {});
    }
  }, 60_000);

  function appDir(name: string, files: Record<string, string | Uint8Array>): string {
    const dir = join(root, name);
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), body);
    }
    return dir;
  }

  async function pushAndGet(name: string, dir: string, body: string) {
    const push = await s.cf(["push", name, "-p", dir, "-m", "256M"], { timeoutMs: 240_000 });
    if (push.code !== 0) console.error(push.out, (await s.cf(["logs", name, "--recent"])).out.slice(-3000));
    expect(push.code).toBe(0);
    const res = await waitFor(async () => {
      const r = await s.route(name);
      return r.status === 200 ? r : null;
    }, { what: `${name} through the router`, timeoutMs: 30_000 });
    expect(await res.text()).toContain(body);
  }

  test("Node.js, Python with a vendored wheel, Go with vendor/ and a static site, staged and run in containers on the bare stack, answer through the router", async () => {
    if (have.node) {
      await pushAndGet("bare-node", appDir("node", {
        "package.json": JSON.stringify({ name: "n", engines: { node: `${have.node.version.split(".")[0]}.x` }, scripts: { start: "node server.js" } }),
        "server.js": 'require("http").createServer((q, s) => s.end("bare node " + process.version)).listen(process.env.PORT);',
      }), `bare node v${have.node.version}`);
    }
    if (have.python) {
      const enc = new TextEncoder();
      const whl: Record<string, string> = {
        "hellowheel/__init__.py": 'GREETING = "bare python wheel"\n',
        "hellowheel-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hellowheel\nVersion: 1.0\n",
        "hellowheel-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: eirini-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
      };
      whl["hellowheel-1.0.dist-info/RECORD"] = [...Object.keys(whl), "hellowheel-1.0.dist-info/RECORD"].map((p) => `${p},,`).join("\n") + "\n";
      await pushAndGet("bare-python", appDir("python", {
        "requirements.txt": "hellowheel==1.0\n",
        "app.py": "import os, http.server, hellowheel\nclass H(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(hellowheel.GREETING.encode())\nhttp.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()\n",
        "vendor/hellowheel-1.0-py3-none-any.whl": zipItems(Object.entries(whl).map(([path, t]) => ({ path, data: enc.encode(t), mode: 0o100644 }))),
      }), "bare python wheel");
    }
    if (have.go) {
      await pushAndGet("bare-go", appDir("go", {
        "go.mod": "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\t"os"\n\n\t"example.com/greet"\n)\n\nfunc main() {\n\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, greet.Hello()) })\n\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)\n}\n',
        "vendor/modules.txt": "# example.com/greet v1.0.0\n## explicit\nexample.com/greet\n",
        "vendor/example.com/greet/greet.go": 'package greet\n\nfunc Hello() string { return "bare go vendored" }\n',
      }), "bare go vendored");
    }
    if (have.node) await pushAndGet("bare-static", appDir("static", { Staticfile: "", "index.html": "<p>bare static</p>" }), "bare static");
  }, 600_000);
});
