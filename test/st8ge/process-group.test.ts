import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { runProcessGroup } from "../../src/st8ge/process-group.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { waitFor } from "../support/poll.ts";

/**
 * The staging sampler on a timer the test drives (`every`): a limit is
 * judged at the sample the test triggers, never after a sleep long enough
 * for a real period to pass.
 */
afterAll(cleanupTempDirs);

const MB = 1024 * 1024;

function drivenSampler() {
  let sample: (() => void) | undefined;
  return { every: (_ms: number, fn: () => void) => ((sample = fn), () => (sample = undefined)), sample: () => sample?.() };
}

async function group(diskBytes: number, mb: number) {
  const dir = tempDir("st8ge-group-");
  const diskDir = join(dir, "work");
  mkdirSync(diskDir);
  const sampler = drivenSampler();
  const done = runProcessGroup({
    // Writes, says so, then waits to be killed (or ends once `go` appears).
    argv: ["/bin/sh", "-c", `dd if=/dev/zero of=work/big bs=1048576 count=${mb} 2>/dev/null; touch written; i=0; while [ ! -f go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`],
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    limits: { timeoutMs: 60_000, memoryBytes: 1024 * MB, diskBytes, diskDir },
    onLine: () => {},
    pollMs: 60_000,
    every: sampler.every,
  });
  await waitFor(() => existsSync(join(dir, "written")), { what: "the writer to finish writing" });
  return { dir, done, sampler };
}

test("over the disk limit: the first disk sample kills the group and reports what it measured", async () => {
  const { done, sampler } = await group(16 * MB, 40);
  sampler.sample();
  const r = await done;
  expect(r.killedFor).toBe("disk");
  expect(r.measured!).toBeGreaterThan(16 * MB);
});

test("under the disk limit: a sample changes nothing, the group ends on its own", async () => {
  const { dir, done, sampler } = await group(64 * MB, 8);
  sampler.sample();
  await Bun.write(join(dir, "go"), "");
  const r = await done;
  expect({ killedFor: r.killedFor, exitCode: r.exitCode }).toEqual({ killedFor: null, exitCode: 0 });
});
