import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { appGuid, procfileApp } from "./apps.ts";

/** `cf run-task`, `cf tasks`, `cf terminate-task`: task state read back through the API, output through the logs. */
let s: CfSession;
let guid: string;
type TaskView = { guid: string; name: string; state: string; sequence_id: number; memory_in_mb: number; disk_in_mb: number; command?: string; result: { failure_reason: string | null } };
const task = async (name: string) => {
  const list = (await s.api<{ resources: TaskView[] }>(`/v3/apps/${guid}/tasks?names=${encodeURIComponent(name)}`)).body.resources;
  if (!list[0]) throw new Error(`no task ${name}`);
  return (await s.api<TaskView>(`/v3/tasks/${list[0].guid}`)).body;
};
const settled = (name: string) => waitFor(async () => {
  const t = await task(name);
  return t.state === "SUCCEEDED" || t.state === "FAILED" ? t : undefined;
}, { timeoutMs: 15_000, what: `task ${name} to finish` });

describeCf("real cf CLI: tasks", () => {
  beforeAll(async () => {
    s = await startCfSession();
    await s.ok(["push", "jobs", "-p", procfileApp(), "-m", "128M"]);
    guid = await appGuid(s, "jobs");
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("run-task --name -m -k runs the command with those limits, and its output is tagged APP/TASK/NAME", async () => {
    const r = await s.ok(["run-task", "jobs", "--command", 'echo "task says $MEMORY_LIMIT"', "--name", "hello", "-m", "64M", "-k", "128M"]);
    expect(r.stdout).toContain("task name:   hello");
    const t = await settled("hello");
    expect(t).toMatchObject({ state: "SUCCEEDED", memory_in_mb: 64, disk_in_mb: 128, sequence_id: 1 });
    const logs = await waitFor(async () => {
      const o = (await s.ok(["logs", "jobs", "--recent"])).stdout;
      return o.includes("task says 64m") ? o : undefined;
    }, { timeoutMs: 10_000, what: "the task's output" });
    expect(logs).toMatch(/\[APP\/TASK\/hello\/0\]\s+OUT task says 64m/);
  }, 30_000);

  test("run-task --process uses that process as the template: its command, memory and disk", async () => {
    await s.ok(["scale", "jobs", "--process", "worker", "-m", "96M", "-k", "200M", "-i", "0", "-f"]);
    await s.ok(["run-task", "jobs", "--process", "worker", "--name", "from-worker"]);
    const t = await waitFor(async () => {
      const x = await task("from-worker");
      return x.state === "RUNNING" || x.state === "SUCCEEDED" ? x : undefined;
    }, { timeoutMs: 15_000, what: "the templated task to run" });
    expect(t).toMatchObject({ memory_in_mb: 96, disk_in_mb: 200, command: "node worker.js" });
    const logs = await waitFor(async () => {
      const o = (await s.ok(["logs", "jobs", "--recent"])).stdout;
      return /\[APP\/TASK\/from-worker\/0\]\s+OUT worker up/.test(o) ? o : undefined;
    }, { timeoutMs: 10_000, what: "the worker task's output" });
    expect(logs).toContain("worker up");
  }, 30_000);

  test("tasks lists every task with its state", async () => {
    const out = (await s.ok(["tasks", "jobs"])).stdout;
    expect(out).toMatch(/1\s+hello\s+SUCCEEDED/);
    expect(out).toMatch(/2\s+from-worker\s+RUNNING/);
  }, 30_000);

  test("terminate-task stops a running task: it ends FAILED", async () => {
    await s.ok(["terminate-task", "jobs", "2"]);
    const t = await settled("from-worker");
    expect(t.state).toBe("FAILED");
    expect((await s.ok(["tasks", "jobs"])).stdout).toMatch(/2\s+from-worker\s+FAILED/);
    const again = await s.cf(["terminate-task", "jobs", "2"]);
    expect(again.code).not.toBe(0);
  }, 30_000);

  test("a failing command ends FAILED with its exit status as the reason", async () => {
    await s.ok(["run-task", "jobs", "--command", "exit 7", "--name", "boom"]);
    const t = await settled("boom");
    expect(t.state).toBe("FAILED");
    expect(t.result.failure_reason).toContain("7");
  }, 30_000);
});
