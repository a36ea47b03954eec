import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import { createStaging, installBuiltinBuildpacks, StagingError, type Staging } from "../../src/st8ge/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { startDroplet } from "./droplet-runner.ts";
import { memorySink, tempDir, writeTree } from "./support.ts";

// A stack is what the staging PATH offers: build one with python3 but no node, and one with neither.
const root = tempDir("st8ge-stack-");
const tools = ["tr", "sed", "head", "grep", "mkdir", "cat", "basename", "dirname"];
function stackDir(name: string, extra: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const t of tools) symlinkSync(Bun.which(t)!, join(dir, t));
  for (const [t, target] of Object.entries(extra)) symlinkSync(target, join(dir, t));
  return dir;
}
const python = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"]).stdout.toString().trim();

let store: Store;
const open = (stackPath: string): Staging => createStaging({ store, config: loadConfig({ flags: { dataDir: store.dataDir, staging: { stackPath } } }), logSink: memorySink() });
beforeAll(async () => {
  store = openStore(join(root, "data"));
  await installBuiltinBuildpacks(open("/usr/bin:/bin").buildpacks, store.settings);
});
afterAll(() => store.close());

test("staticfile serves with python3 on a stack without node", async () => {
  const staging = open(stackDir("py", { python3: python }));
  const app = writeTree(join(root, "site"), { Staticfile: "", "index.html": "served by python\n" });
  const r = await staging.stager.stage({ staging_guid: "p1", app_guid: "app-py" }, app).result;
  expect(r.start_command).toContain("python3 -m http.server");
  const site = await startDroplet(store.blobs.path(`sha256:${r.droplet_hash}`), join(root, "run"), r.start_command);
  try {
    expect(await (await fetch(`http://127.0.0.1:${site.port}/index.html`)).text()).toBe("served by python\n");
  } finally {
    site.stop();
  }
});

test("staticfile fails clearly on a stack with neither node nor python3", async () => {
  const staging = open(stackDir("bare", {}));
  const app = writeTree(join(root, "site2"), { Staticfile: "", "index.html": "x" });
  const lines: string[] = [];
  const err = await staging.stager.stage({ staging_guid: "p2", app_guid: "app-bare" }, app, { subscribers: [(l) => lines.push(l.message)] }).result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StagingError);
  expect((err as StagingError).code).toBe("BuildpackCompileFailed");
  expect(lines).toContain("staticfile: this stack offers neither node nor python3 to serve the files");
});
