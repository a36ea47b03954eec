import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../support/poll.ts";
import { loadConfig } from "../../src/config/index.ts";
import type { LogLine } from "../../src/model/index.ts";
import { createStaging, installBuiltinBuildpacks, NO_BUILDPACK_DETECTED, type Staging } from "../../src/st8ge/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { startDroplet, type RunningDroplet } from "./droplet-runner.ts";
import { failure, listTree, memorySink, shellBuildpack, tempDir, writeTree, zipWithTool } from "./support.ts";

let store: Store;
let staging: Staging;
const sink = memorySink();
const root = tempDir("st8ge-stager-");
const running: RunningDroplet[] = [];
let n = 0;
const fresh = () => join(root, `f${++n}`);

beforeAll(async () => {
  const dataDir = join(root, "data");
  store = openStore(dataDir);
  staging = createStaging({ store, config: loadConfig({ flags: { dataDir } }), logSink: sink });
  await installBuiltinBuildpacks(staging.buildpacks, store.settings);
});
afterAll(() => {
  for (const r of running) r.stop();
  store.close();
});


describe("Stager with the built-in buildpacks", () => {
  test("a Node.js app (lockfile, local dependency) stages with nodejs and its droplet answers HTTP", async () => {
    const app = writeTree(fresh(), {
      "package.json": JSON.stringify({ name: "hello", version: "1.0.0", scripts: { start: "node server.js" }, dependencies: { greet: "file:vendor/greet" } }),
      "package-lock.json": JSON.stringify({
        name: "hello",
        version: "1.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: { "": { name: "hello", version: "1.0.0", dependencies: { greet: "file:vendor/greet" } }, "node_modules/greet": { resolved: "vendor/greet", link: true }, "vendor/greet": { version: "1.0.0" } },
      }),
      "vendor/greet/package.json": JSON.stringify({ name: "greet", version: "1.0.0", main: "index.js" }),
      "vendor/greet/index.js": 'module.exports = () => "hello from greet";\n',
      "server.js": 'const greet = require("greet");\nrequire("http").createServer((q, r) => r.end(greet() + " env=" + process.env.NODE_ENV)).listen(process.env.PORT);\n',
    });
    const seen: LogLine[] = [];
    const h = staging.stager.stage({ staging_guid: "stg-node", app_guid: "app-node", app_name: "hello" }, { dir: app }, { subscribers: [(l) => seen.push(l)] });
    const r = await h.result;
    expect(r.detected_buildpack).toBe("nodejs");
    expect(r.buildpack_name).toBe("nodejs_buildpack");
    expect(r.start_command).toBe("node server.js");
    expect(r.droplet_hash).toMatch(/^[a-f0-9]{64}$/);
    const tgz = store.blobs.path(`sha256:${r.droplet_hash}`);
    expect(new Bun.CryptoHasher("sha256").update(readFileSync(tgz)).digest("hex")).toBe(r.droplet_hash);
    const msgs = seen.map((l) => l.message);
    expect(msgs.some((m) => m.includes("Installing dependencies with npm ci"))).toBe(true);
    expect(seen.every((l) => l.source_type === "STG" && l.source_id === "app-node" && typeof l.timestamp === "bigint")).toBe(true);
    expect(sink.lines.filter((l) => l.source_id === "app-node").map((l) => l.message)).toEqual(msgs);
    const ts = seen.map((l) => l.timestamp as bigint);
    expect(ts.every((t, i) => i === 0 || t > ts[i - 1]!)).toBe(true);
    const app1 = await startDroplet(tgz, fresh(), r.start_command);
    running.push(app1);
    expect(await (await fetch(`http://127.0.0.1:${app1.port}/`)).text()).toBe("hello from greet env=production");
    app1.stop();
  });

  test("a static site stages with staticfile and its droplet serves the files", async () => {
    const app = writeTree(fresh(), { Staticfile: "root: public\n", "public/index.html": "<h1>static hello</h1>\n", "public/css/site.css": "body{}\n", "secret.txt": "not served\n" });
    const r = await staging.stager.stage({ staging_guid: "stg-static", app_guid: "app-static" }, { dir: app }).result;
    expect(r.detected_buildpack).toBe("staticfile");
    const site = await startDroplet(store.blobs.path(`sha256:${r.droplet_hash}`), fresh(), r.start_command);
    running.push(site);
    const base = `http://127.0.0.1:${site.port}`;
    expect(await (await fetch(`${base}/`)).text()).toBe("<h1>static hello</h1>\n");
    const css = await fetch(`${base}/css/site.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect((await fetch(`${base}/../secret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/.staticfile/config`)).status).toBe(404);
    site.stop();
  });

  test("a Procfile app stages with binary_buildpack (the old procfile), detected last", async () => {
    const app = writeTree(fresh(), { Procfile: "web: ./serve\n", serve: "#!/bin/sh\nexec python3 -m http.server \"$PORT\"\n" });
    const auto = await staging.stager.stage({ staging_guid: "stg-proc", app_guid: "app-proc" }, { dir: app }).result;
    expect(auto.buildpack_name).toBe("binary_buildpack");
    expect(auto.start_command).toBe("./serve");
    const named = await staging.stager.stage({ staging_guid: "stg-bin", app_guid: "app-proc", buildpacks: [{ name: "binary_buildpack", skip_detect: true }], start_command: "./serve --flag" }, app).result;
    expect(named.buildpack_name).toBe("binary_buildpack");
    expect(named.start_command).toBe("./serve --flag");
    expect(named.process_types).toEqual({ web: "./serve" });
  });

  test("binary with no Procfile stages without an ERR line (issue 13)", async () => {
    const app = writeTree(fresh(), { serve: "#!/bin/sh\nexec sleep 1\n" });
    const lines: string[] = [];
    const r = await staging.stager.stage({ staging_guid: "stg-bin-noproc", app_guid: "app-bin", buildpacks: [{ name: "binary_buildpack", skip_detect: true }], start_command: "./serve" }, { dir: app }, { subscribers: [(l) => lines.push(`${l.stream} ${l.message}`)] }).result;
    expect(r.buildpack_name).toBe("binary_buildpack");
    expect(lines.filter((l) => /cannot open|No such file/.test(l))).toEqual([]);
  });

  test("multi-buildpack: an admin supply buildpack, then the built-in nodejs as final", async () => {
    const supplier = shellBuildpack(fresh(), { supply: 'mkdir -p "$3/$4"; echo "export SUPPLIED=yes" > "$3/$4/env.sh"; echo "-----> tools supplied at $4"' });
    await staging.buildpacks.add({ name: "tools" }, zipWithTool(supplier, fresh() + ".zip"));
    const app = writeTree(fresh(), { "package.json": JSON.stringify({ name: "m", main: "main.js" }), "main.js": "" });
    const seen: string[] = [];
    const r = await staging.stager.stage(
      { staging_guid: "stg-multi", app_guid: "app-multi", buildpacks: [{ name: "tools", skip_detect: true }, { name: "nodejs", skip_detect: true }] },
      app,
      { subscribers: [(l) => seen.push(l.message)] },
    ).result;
    expect(seen).toContain("-----> tools supplied at 0");
    expect(r.buildpack_name).toBe("nodejs_buildpack");
    expect(r.start_command).toBe("node main.js");
    const list = Bun.spawnSync(["tar", "tzf", store.blobs.path(`sha256:${r.droplet_hash}`)]).stdout.toString();
    expect(list).toContain("./deps/0/env.sh");
    expect(list).toContain("./deps/1/config.yml");
  });

  test("the buildpack cache of an app is kept and reused by its next staging", async () => {
    const counter = shellBuildpack(fresh(), {
      detect: 'test -f "$1/count-me" && echo counter',
      compile: 'if [ -f "$2/runs" ]; then echo "cache hit: $(cat "$2/runs") earlier run(s)"; fi; echo $(( $(cat "$2/runs" 2>/dev/null || echo 0) + 1 )) > "$2/runs"',
      release: "echo '--- {}'",
    });
    await staging.buildpacks.add({ name: "counter", position: 1 }, counter);
    const app = writeTree(fresh(), { "count-me": "" });
    const first: string[] = [];
    await staging.stager.stage({ staging_guid: "c1", app_guid: "app-cache" }, app, { subscribers: [(l) => first.push(l.message)] }).result;
    const second: string[] = [];
    await staging.stager.stage({ staging_guid: "c2", app_guid: "app-cache" }, app, { subscribers: [(l) => second.push(l.message)] }).result;
    const other: string[] = [];
    await staging.stager.stage({ staging_guid: "c3", app_guid: "app-other" }, app, { subscribers: [(l) => other.push(l.message)] }).result;
    expect(first.some((m) => m.startsWith("cache hit"))).toBe(false);
    expect(second).toContain("cache hit: 1 earlier run(s)");
    expect(other.some((m) => m.startsWith("cache hit"))).toBe(false);
    staging.buildpacks.delete("counter");
  });

  test("failures reach the result and the log, and leave no files behind", async () => {
    const app = writeTree(fresh(), { "readme.txt": "nothing to detect" });
    const seen: LogLine[] = [];
    const err = await failure(staging.stager.stage({ staging_guid: "f1", app_guid: "app-fail" }, app, { subscribers: [(l) => seen.push(l)] }).result);
    expect(err.code).toBe("NoAppDetectedError");
    expect(err.message).toBe(NO_BUILDPACK_DETECTED);
    expect(seen.at(-1)).toMatchObject({ stream: "ERR", message: `Staging failed: ${NO_BUILDPACK_DETECTED}`, source_type: "STG" });
    // The working dir goes in the background, once the result is out.
    await waitFor(() => listTree(join(store.dataDir, "staging", "work")).length === 0, { what: "the working dir to be removed" });
    expect(readdirSync(store.blobs.tmpDir)).toEqual([]);
    expect(existsSync(join(store.dataDir, "staging", "cache", "app-fail"))).toBe(false);
  });

  test("unknown, disabled and URL buildpacks, and invalid requests, are refused", async () => {
    const app = writeTree(fresh(), { "x.txt": "" });
    expect((await failure(staging.stager.stage({ staging_guid: "u1", app_guid: "a1", buildpacks: [{ name: "nope", skip_detect: true }] }, app).result)).message).toBe('buildpack "nope" not found');
    staging.buildpacks.update("binary_buildpack", { enabled: false });
    try {
      expect((await failure(staging.stager.stage({ staging_guid: "u2", app_guid: "a1", buildpacks: [{ name: "procfile", skip_detect: true }] }, app).result)).message).toBe('buildpack "procfile" is disabled');
    } finally {
      staging.buildpacks.update("binary_buildpack", { enabled: true });
    }
    expect((await failure(staging.stager.stage({ staging_guid: "u3", app_guid: "a1", buildpacks: [{ name: "https://github.com/x/y", url: "https://github.com/x/y", skip_detect: true }] }, app).result)).code).toBe("BuildpackNotFound");
    expect((await failure(staging.stager.stage({ staging_guid: "u4", app_guid: "../evil" }, app).result)).message).toContain("not a guid");
    expect((await failure(staging.stager.stage({ staging_guid: "u5", app_guid: "a1", environment: { "BAD=NAME": "x" } }, app).result)).message).toContain("not valid");
    expect((await failure(staging.stager.stage({ app_guid: "a1" } as never, app).result)).message).toContain("staging_guid");
    expect((await failure(staging.stager.stage({ staging_guid: "u6", app_guid: "a1" }, join(root, "does-not-exist")).result)).code).toBe("InvalidPackage");
  });

  test("the staging environment carries CF_STACK, VCAP_APPLICATION, VCAP_SERVICES, MEMORY_LIMIT and the app's env", async () => {
    const envDump = shellBuildpack(fresh(), { compile: 'echo "stack=$CF_STACK mem=$MEMORY_LIMIT svc=$VCAP_SERVICES mine=$MY_VAR"; echo "vcap=$VCAP_APPLICATION"; echo "home-inside=$(case "$HOME" in "$PWD"*|*/staging/work/*) echo yes;; *) echo no;; esac)"', release: "echo '--- {}'" });
    await staging.buildpacks.add({ name: "envdump" }, envDump);
    const seen: string[] = [];
    const app = writeTree(fresh(), { "x.txt": "" });
    await staging.stager.stage({ staging_guid: "e1", app_guid: "app-env", app_name: "envy", memory_mb: 512, environment: { MY_VAR: "mine" }, buildpacks: [{ name: "envdump", skip_detect: true }] }, app, { subscribers: [(l) => seen.push(l.message)] }).result;
    expect(seen).toContain("stack=cflinuxfs4 mem=512m svc={} mine=mine");
    const vcap = JSON.parse(seen.find((m) => m.startsWith("vcap="))!.slice(5));
    expect(vcap).toMatchObject({ application_id: "app-env", application_name: "envy", limits: { mem: 512 } });
    expect(seen).toContain("home-inside=yes");
    staging.buildpacks.delete("envdump");
  });

  test("cancel() stops a staging", async () => {
    const slow = shellBuildpack(fresh(), { compile: "echo started; sleep 60", release: "echo '--- {}'" });
    await staging.buildpacks.add({ name: "slow" }, slow);
    const app = writeTree(fresh(), { "x.txt": "" });
    let h: ReturnType<typeof staging.stager.stage> | undefined;
    h = staging.stager.stage({ staging_guid: "k1", app_guid: "app-cancel", buildpacks: [{ name: "slow", skip_detect: true }] }, app, { subscribers: [(l) => l.message === "started" && h!.cancel()] });
    const err = await failure(h.result);
    expect(err.code).toBe("StagingCancelled");
    staging.buildpacks.delete("slow");
    rmSync(app, { recursive: true, force: true });
  });
});
