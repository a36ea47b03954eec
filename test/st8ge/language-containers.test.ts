import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ContainerHost, containerSupport } from "../../src/container/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { addRuntimeArchive, createLocalExecutor, createStaging, installBuiltinBuildpacks } from "../../src/st8ge/index.ts";
import { openStore } from "../../src/store/index.ts";
import { offlineArchive, runtimeArchive } from "../support/runtime-archives.ts";
import { standInStack } from "../support/stack-rootfs.ts";
import { bareStackPath, runOnBareStack } from "./bare-stack.ts";
import { memorySink, tempDir, writeTree } from "./support.ts";

// Local staging in a runc container on the "bare" stand-in stack (no node): the nodejs buildpack gets
// node from the runtime store through the unix socket the stager bind-mounts into the container.
const support = containerSupport();
const stack = support.ok ? await standInStack("bare") : { rootfs: null, reason: "" };
const node = await runtimeArchive("node");
if (!support.ok || !stack.rootfs || "reason" in node) {
  const why = !support.ok ? "containers unavailable here" : !stack.rootfs ? stack.reason : "reason" in node ? node.reason : "";
  test.skip(`Node.js staged in a container on the bare stack: skipped: ${why}`, () => {});
} else {
  const root = tempDir("st8ge-lang-containers-");
  const store = openStore(join(root, "data"));
  const host = new ContainerHost({ stateDir: join(root, "containers") });
  const rootfs = stack.rootfs;
  afterAll(() => store.close());
  test("Node.js staged in a container on the bare stack gets node from the runtime store over the socket", async () => {
    const config = loadConfig({ flags: { dataDir: store.dataDir, staging: { defaultStack: "bare", dropletGzipLevel: 1 } } });
    const staging = createStaging({
      store,
      config,
      logSink: memorySink(),
      tokenKey: "c".repeat(64),
      executor: createLocalExecutor({ workRoot: join(store.dataDir, "staging", "work"), container: { host, stackRootfs: async () => rootfs } }),
    });
    try {
      await installBuiltinBuildpacks(staging.buildpacks, store.settings);
      await addRuntimeArchive(staging.runtimes.store, offlineArchive(root, [node], ["bare"]));
      const app = writeTree(join(root, "app"), {
        "package.json": JSON.stringify({ name: "c", engines: { node: `${node.version.split(".")[0]}.x` }, scripts: { start: "node server.js" } }),
        "server.js": 'require("http").createServer((q, s) => s.end("contained " + process.version)).listen(process.env.PORT);',
      });
      const lines: string[] = [];
      const r = await staging.stager.stage({ staging_guid: "c1", app_guid: "app-c" }, { dir: app }, { subscribers: [(l) => lines.push(l.message)] }).result;
      expect(lines).toContain(`-----> Installing node ${node.version}`);
      const running = await runOnBareStack(store.blobs.path(`sha256:${r.droplet_hash}`), join(root, "run"), r.start_command, bareStackPath(root));
      try {
        expect(await (await fetch(`http://127.0.0.1:${running.port}/`)).text()).toBe(`contained v${node.version}`);
      } finally {
        running.stop();
      }
    } finally {
      staging.close();
    }
  }, 120_000);
}
