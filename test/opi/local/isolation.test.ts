import { afterAll, expect, test } from "bun:test";
import { ConfigSchema } from "../../../src/config/index.ts";
import { createLogger, silentLogger } from "../../../src/log/index.ts";
import { createExecutor, createLocalBackend } from "../../../src/opi/local/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { containersUnavailable, containerSetup } from "./container-harness.ts";

afterAll(cleanupTempDirs);

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
