import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { zipItems } from "../../src/st8ge/zip-dir.ts";
import { finalBuildpack, supplyBuildpack } from "../support/contract-buildpack.ts";
import { pushed, startRuntimeSession, type RuntimeSession } from "../support/kube/runtime-session.ts";
import { waitFor } from "../support/poll.ts";
import { offlineArchive, runtimeArchive, type RuntimeArchive } from "../support/runtime-archives.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * The built-in buildpacks on a stack with no node, python or go ("bare",
 * debootstrap minbase + curl/tar/gzip), with the real runtime: the compiled
 * appliance on --backend kube, every pod (staging and app) run by containerd
 * + runc so it sees only the stack; runtimes come from the runtime store
 * (`eirini runtimes add` of an offline archive assembled from this machine's
 * own files), fetched by the staging pod from the appliance with its staging
 * token. Each app answers through the router. The contract buildpacks run
 * here too: multi-buildpack via `cf create-buildpack` + `cf push -b -b`.
 */
let s: RuntimeSession | undefined;
let skip = "";
const have: Partial<Record<"node" | "python" | "go", RuntimeArchive>> = {};
const root = tempDir("eirini-lang-kube-");

beforeAll(async () => {
  const archives: RuntimeArchive[] = [];
  for (const n of ["node", "python", "go"] as const) {
    const a = await runtimeArchive(n);
    if ("reason" in a) console.log(`skip ${n} apps: ${a.reason}`);
    else {
      have[n] = a;
      archives.push(a);
    }
  }
  const r = await startRuntimeSession({
    flavour: "bare",
    beforeStart: async (dataDir) => {
      const io = { out: () => {}, err: (l: string) => console.error(l), env: {} };
      if ((await runCli(["runtimes", "add", offlineArchive(root, archives, ["cflinuxfs4"]), "--data-dir", dataDir], io)) !== 0) throw new Error("eirini runtimes add failed");
    },
  });
  if ("skip" in r) {
    skip = r.skip;
    console.log(`skip languages on the bare stack: ${r.skip}`);
    return;
  }
  s = r;
}, 600_000);

afterAll(async () => {
  await s?.stop();
  cleanupTempDirs();
}, 120_000);

function appDir(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(root, name);
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

async function pushAndGet(name: string, dir: string, expectBody: string, extra: string[] = []) {
  const k = s!;
  const push = await k.cf(["push", name, "-p", dir, "-m", "256M", ...extra], { timeoutMs: 300_000 });
  if (!pushed(push)) console.error(push.out, "\nkubelet failures:", k.kubelet.failures, "\napp logs:", (await k.cf(["logs", name, "--recent"])).out.slice(-3000));
  expect(pushed(push)).toBe(true);
  const res = await waitFor(async () => {
    const r = await k.route(name, "/");
    return r.status === 200 ? r : null;
  }, { what: `${name} answering through the router`, timeoutMs: 60_000 });
  expect(await res.text()).toContain(expectBody);
}

describe("languages on a stack without runtimes, in real containers", () => {
  test("Node.js, Python with a vendored wheel, Go with vendor/ and a static site answer through the router", async () => {
    if (skip) return;
    if (have.node) {
      await pushAndGet("lang-node", appDir("node", {
        "package.json": JSON.stringify({ name: "n", engines: { node: `${have.node.version.split(".")[0]}.x` }, scripts: { start: "node server.js" } }),
        "server.js": 'require("http").createServer((q, s) => s.end("node says " + process.version)).listen(process.env.PORT);',
      }), `node says v${have.node.version}`);
      await pushAndGet("lang-static", appDir("static", { Staticfile: "", "index.html": "<p>static on the bare stack</p>" }), "static on the bare stack");
    }
    if (have.python) {
      const enc = new TextEncoder();
      const whl: Record<string, string> = {
        "hellowheel/__init__.py": 'GREETING = "python with a vendored wheel"\n',
        "hellowheel-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hellowheel\nVersion: 1.0\n",
        "hellowheel-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: eirini-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
      };
      whl["hellowheel-1.0.dist-info/RECORD"] = [...Object.keys(whl), "hellowheel-1.0.dist-info/RECORD"].map((p) => `${p},,`).join("\n") + "\n";
      await pushAndGet("lang-python", appDir("python", {
        "requirements.txt": "hellowheel==1.0\n",
        ".python-version": have.python.version.split(".").slice(0, 2).join("."),
        "app.py": "import os, http.server, hellowheel\nclass H(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(hellowheel.GREETING.encode())\nhttp.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()\n",
        "vendor/hellowheel-1.0-py3-none-any.whl": zipItems(Object.entries(whl).map(([path, t]) => ({ path, data: enc.encode(t), mode: 0o100644 }))),
      }), "python with a vendored wheel");
    }
    if (have.go) {
      await pushAndGet("lang-go", appDir("go", {
        "go.mod": "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\t"os"\n\n\t"example.com/greet"\n)\n\nfunc main() {\n\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, greet.Hello()) })\n\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)\n}\n',
        "vendor/modules.txt": "# example.com/greet v1.0.0\n## explicit\nexample.com/greet\n",
        "vendor/example.com/greet/greet.go": 'package greet\n\nfunc Hello() string { return "go built with -mod=vendor" }\n',
      }), "go built with -mod=vendor");
    }
  }, 900_000);

  test("a Node.js version the store lacks fails staging with the message naming it", async () => {
    if (skip || !have.node) return;
    const push = await s!.cf(["push", "lang-old-node", "-p", appDir("old-node", { "package.json": JSON.stringify({ name: "o", engines: { node: "~4.2" } }), "server.js": "" }), "-m", "256M"], { timeoutMs: 240_000 });
    expect(pushed(push)).toBe(false);
    const logs = await s!.cf(["logs", "lang-old-node", "--recent"]);
    expect(logs.out).toContain("runtime node ~4.2 for stack cflinuxfs4 is not in this appliance's runtime store");
  }, 300_000);

  test("the contract buildpacks: multi-buildpack through cf create-buildpack and cf push -b -b", async () => {
    if (skip) return;
    const k = s!;
    await k.ok(["create-buildpack", "contract_supply", supplyBuildpack(join(root, "bp-supply"), "supa"), "1"]);
    await k.ok(["create-buildpack", "contract_final", finalBuildpack(join(root, "bp-final")), "2"]);
    const dir = appDir("contract", { "index.txt": "x" });
    // The contract app serves no port (the bare stack has no server to serve with), so the push is not
    // waited for: what matters is the staging pod's observations and the app pod's launch output.
    const push = k.cfStream(["push", "contract", "-p", dir, "-m", "128M", "-b", "contract_supply", "-b", "contract_final", "-u", "process", "-c", "sh contract-run.sh; exec sleep 3600"]);
    const logs = await waitFor(async () => {
      const r = await k.cf(["logs", "contract", "--recent"]);
      return r.out.includes("run:FROM_PROFILE_SUPA=yes") ? r : null;
    }, { what: "the contract app's output", timeoutMs: 60_000 });
    for (const line of [
      "observed supply-supa argc=4",
      "observed supply-supa idx=0",
      "observed supply-supa deps_dirs=0 1",
      "observed finalsupply-final cache_base=final",
      "observed finalize-final argc=5",
      "observed finalize-final idx=1",
      "observed finalize-final profile_dir_is_sibling=yes",
      "observed finalize-final stack=cflinuxfs4",
      "observed finalize-final memory=128m",
      "observed finalize-final app_name=contract",
      "run:deps_dir_set=yes",
      "run:tool=tool-supa",
    ]) expect(logs.out).toContain(line);
    expect(logs.out).toMatch(/observed supply-supa cache_base=[0-9a-f]{16}/);
    await push.stop();
  }, 300_000);
});
