import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../../src/cli/index.ts";
import { ConfigSchema } from "../../../src/config/index.ts";
import { createLogger, silentLogger } from "../../../src/log/index.ts";
import { createExecutor, createLocalBackend } from "../../../src/opi/local/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { standInStack } from "../../support/stack-rootfs.ts";
import { containersUnavailable, containerSetup } from "./container-harness.ts";

// The unpacked stack is hundreds of MB: removing it takes a while on a busy machine.
afterAll(cleanupTempDirs, 60_000);

function setup(local: Record<string, unknown>) {
  const dir = tempDir();
  const store = openStore(dir);
  const config = ConfigSchema.parse({ dataDir: dir, local });
  return { store, config };
}

test("no stack (or no runc, or not root): process executor and ONE loud warning when the backend starts", async () => {
  const { store, config } = setup({ isolation: "container", stack: "/nonexistent/rootfs" });
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l) });
  const executor = createExecutor({ store, config, logger, logs: { append() {} } });
  expect(executor.isolation).toBe("process");
  expect(executor.runsImages).toBeFalsy();
  const backend = createLocalBackend({ store, config, logger, logs: { append() {} }, executor });
  expect(backend.supportsDockerImages).toBe(false);
  expect(lines.filter((l) => l.includes("CONTAINER ISOLATION IS OFF"))).toEqual([]);
  await backend.start();
  await backend.stop();
  await backend.start();
  const warnings = lines.filter((l) => l.includes("CONTAINER ISOLATION IS OFF"));
  expect(warnings.length).toBe(1);
  expect(warnings[0]).toContain("WARN");
  expect(warnings[0]).toContain("stack /nonexistent/rootfs not found");
  await backend.stop();
  store.close();
});

test("local.isolation: process is a choice: plain processes, no warning", async () => {
  const { store, config } = setup({ isolation: "process" });
  const executor = createExecutor({ store, config, logger: silentLogger, logs: { append() {} } });
  expect(executor.isolation).toBe("process");
  expect(executor.startupNotice).toBeUndefined();
  store.close();
});

const why = await containersUnavailable();
(why ? test.skip : test)(`with root, runc and a stack: containers, docker images supported${why ? ` (${why})` : ""}`, async () => {
  const s = await containerSetup();
  try {
    expect(s.backend.supportsDockerImages).toBe(true);
  } finally {
    await s.close();
  }
});

(why ? test.skip : test)(`usage comes from the container's cgroup in CF's stats shape${why ? ` (${why})` : ""}`, async () => {
  const s = await containerSetup();
  const executor = createExecutor({ store: s.store, config: s.config, logger: silentLogger, logs: { append() {} } });
  try {
    const handle = await executor.start({
      kind: "task",
      guid: `usage-${crypto.randomUUID().slice(0, 8)}`,
      dropletHash: s.nodeHash,
      command: "exec node -e \"const b = Buffer.alloc(48 << 20, 1); setInterval(() => b[0]++, 10)\"",
      env: {},
      memoryMb: 128,
      diskMb: 64,
      log: { sourceId: "a", sourceType: "APP/TASK/u", instanceId: "0" },
    });
    const u = await waitFor(() => {
      const x = executor.usage?.(handle);
      return x && x.mem > 40 * 1024 * 1024 ? x : null;
    }, { timeoutMs: 15_000, what: "the node process's memory in its cgroup" });
    expect(u.mem).toBeLessThan(128 * 1024 * 1024);
    expect(u.cpu).toBeGreaterThanOrEqual(0);
    expect(Date.parse(u.time)).toBeGreaterThan(0);
    await executor.stop(handle, 0);
    expect((await handle.exited).outOfMemory).toBe(false);
  } finally {
    executor.close();
    await executor.shutdown?.();
    await s.close();
  }
});

(why ? test.skip : test)(`a stack imported with \`eirini stack import\` (rootfs tarball) is unpacked once and becomes the containers' rootfs${why ? ` (${why})` : ""}`, async () => {
  const bare = await standInStack("bare");
  const dir = tempDir();
  const tarball = join(dir, "rootfs.tar");
  expect(Bun.spawnSync(["tar", "-C", bare.rootfs!, "--numeric-owner", "-cf", tarball, "."]).exitCode).toBe(0);
  const data = join(dir, "data");
  const io = { out: () => {}, err: () => {}, env: {} };
  expect(await runCli(["stack", "import", "cflinuxfs4", tarball, "--data-dir", data], io)).toBe(0);
  const store = openStore(data);
  const lines: string[] = [];
  const backend = createLocalBackend({ store, config: ConfigSchema.parse({ dataDir: data }), logger: silentLogger, logs: { append: (l) => void lines.push(l.message) }, logPollMs: 20 });
  try {
    await backend.start();
    await backend.desireTask({ guid: "on-imported-stack", name: "probe", app_guid: "a", command: "cat /etc/debian_version && id -u && ! command -v node", memory_mb: 64, disk_mb: 64, environment: {} } as never);
    const t = await waitFor(async () => {
      const x = await backend.getTask("on-imported-stack");
      return x && (x.state === "SUCCEEDED" || x.state === "FAILED") ? x : null;
    }, { timeoutMs: 60_000, what: "the task on the imported stack" });
    expect(t.failure_reason).toBe("");
    expect(t.state).toBe("SUCCEEDED");
    await waitFor(() => lines.includes("2000"), { what: "the task's output" });
    expect(readdirSync(join(data, "opi-local", "stacks")).filter((n) => n.startsWith("cflinuxfs4-"))).toHaveLength(1);
  } finally {
    await backend.stop();
    store.close();
  }
}, 90_000);
