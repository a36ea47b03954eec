import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalExecutor } from "../../src/st8ge/index.ts";
import { REPO_ROOT } from "../support/appliance-process.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, "latin1").replace(/\(.*\)/, "x"));
  } catch {
    return false;
  }
};

/**
 * Issue 13, item 7: a staging's process group outlives a kill -9 of the
 * appliance. A stand-in appliance (a real process) starts a staging group the
 * way the local executor does, is killed with SIGKILL, and the next executor
 * on the same work root kills what it left.
 */
test("staging processes left by a killed appliance are killed when the next one starts", async () => {
  const workRoot = tempDir();
  const pids = join(tempDir(), "pids");
  const script = join(tempDir(), "appliance.ts");
  writeFileSync(
    script,
    `import { mkdirSync } from "node:fs";
import { runProcessGroup } from ${JSON.stringify(join(REPO_ROOT, "src/st8ge/process-group.ts"))};
const work = ${JSON.stringify(workRoot)} + "/" + process.pid + "-job-1";
mkdirSync(work, { recursive: true });
// A buildpack that starts a background process and one that leaves the group with its own session.
void runProcessGroup({ argv: ["/bin/sh", "-c", "sleep 300 & echo $! >> ${pids}; setsid sleep 301 & sleep 1; pgrep -f 'sleep 301' >> ${pids}; echo $$ >> ${pids}; wait"], cwd: work, env: { PATH: process.env.PATH }, limits: { timeoutMs: 600000, memoryBytes: 1e12, diskBytes: 1e12, diskDir: work }, onLine() {}, marker: work });
`,
  );
  const fake = Bun.spawn([process.execPath, script], { stdout: "ignore", stderr: "inherit" });
  const started: number[] = await waitFor(
    () => {
      const lines = existsSync(pids) ? readFileSync(pids, "utf8").trim().split("\n") : [];
      return lines.length >= 3 ? lines.map(Number) : null;
    },
    { timeoutMs: 15_000, what: "the staging group to start" },
  );
  fake.kill("SIGKILL");
  await fake.exited;
  expect(started.every(alive)).toBe(true);
  createLocalExecutor({ workRoot });
  await waitFor(() => started.every((p) => !alive(p)), { timeoutMs: 5000, what: "the orphans to be killed" });
  expect(existsSync(join(workRoot, `${fake.pid}-job-1`))).toBe(false);
});
