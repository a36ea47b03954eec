import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { APP_INIT, DOCKER_INIT, TASK_INIT } from "../../../src/opi/kube/shell-init.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

/**
 * The shell init as PID 1 of a fresh PID namespace (`unshare --pid --fork`,
 * as a container's init is): SIGTERM, which the kernel does not deliver to
 * a PID 1 without a handler, stops the app well inside the 5 s we allow for
 * stop, scale-down and delete (the kubelet would wait 30 s, then SIGKILL).
 */
afterAll(cleanupTempDirs);

const canUnshare = process.getuid?.() === 0 && Bun.which("unshare") !== null;

async function runAsPid1(script: string, args: string[], env: Record<string, string> = {}) {
  const out = tempDir();
  const proc = Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "/bin/sh", "-c", script, "launcher", ...args], {
    env: { PATH: "/usr/bin:/bin", ...env },
    stdout: Bun.file(join(out, "out")),
    stderr: Bun.file(join(out, "err")),
  });
  // PID 1 of the namespace is unshare's forked child.
  const pid1 = await waitFor(() => {
    const r = Bun.spawnSync(["pgrep", "-P", String(proc.pid)]);
    return new TextDecoder().decode(r.stdout).trim().split("\n")[0] || null;
  }, { what: "the namespace's PID 1" });
  const nsPid = await waitFor(() => {
    const status = Bun.file(`/proc/${pid1}/status`);
    return status.text().then((t) => /NSpid:\s+\d+\s+(\d+)/.exec(t)?.[1]);
  });
  return { proc, pid1: Number(pid1), nsPid: Number(nsPid), output: () => Bun.file(join(out, "out")).text() };
}

describe("shell init as PID 1", () => {
  const cases: [string, string, string[]][] = [
    ["app: a simple start command", APP_INIT, ["sleep 1000"]],
    ["app: a compound start command (the shell stays between)", APP_INIT, ["sleep 1000; echo never"]],
    ["task", TASK_INIT, ["sleep 1000"]],
    ["docker image with a command", DOCKER_INIT, ["sleep", "1000"]],
  ];
  for (const [label, script, args] of cases) {
    test(`${label}: SIGTERM ends it within 5 s`, async () => {
      if (!canUnshare) return void console.log("skip PID 1 signal tests: need root and unshare");
      const r = await runAsPid1(script, args, { POD_NAME: "web-3" });
      expect(r.nsPid).toBe(1);
      // Wait until the command runs under PID 1.
      await waitFor(() => new TextDecoder().decode(Bun.spawnSync(["pgrep", "-f", "sleep 1000"]).stdout).trim().length > 0, { what: "the app" });
      process.kill(r.pid1, "SIGTERM");
      const code = await waitFor(() => (r.proc.exitCode !== null ? { code: r.proc.exitCode } : null), { timeoutMs: 5_000, what: "exit after SIGTERM" });
      expect(code.code).toBe(143);
    });
  }

  test("an app that handles SIGTERM itself exits with its own status; profile.d and the index are in place", async () => {
    if (!canUnshare) return void console.log("skip PID 1 signal tests: need root and unshare");
    const home = tempDir();
    mkdirSync(join(home, "app", ".profile.d"), { recursive: true });
    writeFileSync(join(home, "app", ".profile.d", "a.sh"), "export FROM_PROFILE=yes\n");
    const script = APP_INIT.replaceAll("/home/vcap", home);
    const app = `trap 'echo "bye $FROM_PROFILE $CF_INSTANCE_INDEX"; exit 0' TERM; echo up; while :; do sleep 0.05; done`;
    const r = await runAsPid1(script, [app], { POD_NAME: "web-3" });
    await waitFor(async () => (await r.output()).includes("up"), { what: "app up" });
    process.kill(r.pid1, "SIGTERM");
    const code = await waitFor(() => (r.proc.exitCode !== null ? { code: r.proc.exitCode } : null), { timeoutMs: 5_000, what: "exit after SIGTERM" });
    expect(code.code).toBe(0);
    expect(await r.output()).toContain("bye yes 3");
  });

  test("the command's own exit status is PID 1's", async () => {
    if (!canUnshare) return void console.log("skip PID 1 signal tests: need root and unshare");
    const proc = Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "/bin/sh", "-c", TASK_INIT, "launcher", "exit 7"], { stdout: "ignore", stderr: "ignore" });
    expect(await proc.exited).toBe(7);
  });
});
