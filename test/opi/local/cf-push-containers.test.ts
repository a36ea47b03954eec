import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startEirini, type RunningEirini } from "../../support/appliance-process.ts";
import { describeCf, FIXTURES, startCfSession, type CfSession } from "../../support/cf-cli.ts";
import { compiledEirini } from "../../support/compiled-binary.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { ContainerHost } from "../../../src/container/index.ts";
import { containersUnavailable } from "./container-harness.ts";
import { standInStack } from "../../support/stack-rootfs.ts";

afterAll(cleanupTempDirs);

const why = await containersUnavailable();
if (why) test.skip(`cf push into containers: ${why}`, () => {});

// The real cf CLI pushes node-hello to the compiled appliance with container isolation: staging and instances run in runc containers.
describeCf(why ? "cf push into containers (skipped)" : "cf push into containers", () => {
  if (why) return;
  let s: CfSession;
  let env: Record<string, string>;
  const bundles = () => readdirSync(join(s.dataDir, "opi-local", "containers", "bundles")).sort();
  beforeAll(async () => {
    const stack = await standInStack("node");
    env = { EIRINI_LOCAL__STACK: stack.rootfs!, EIRINI_LOCAL__ISOLATION: "container" };
    s = await startCfSession({ env });
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    // A failed test may have left containers of a killed appliance: remove them (and the bridge) with the data dir's own state.
    if (s) {
      const host = new ContainerHost({ stateDir: join(s.dataDir, "opi-local", "containers") });
      for (const id of host.list()) await host.destroy(id).catch(() => {});
      await host.teardownIfIdle().catch(() => {});
    }
  }, 60_000);

  /** `cf` that must exit 0, the final app summary included. */
  async function cfDone(args: string[], timeoutMs = 180_000) {
    return s.ok(args, { timeoutMs });
  }

  async function stats(app: string): Promise<{ state: string; host: string; index: number }[]> {
    const apps = await s.api<{ resources: { guid: string }[] }>(`/v3/apps?names=${app}`);
    const procs = await s.api<{ resources: { guid: string }[] }>(`/v3/apps/${apps.body.resources[0]!.guid}/processes`);
    return (await s.api<{ resources: { state: string; host: string; index: number }[] }>(`/v3/processes/${procs.body.resources[0]!.guid}/stats`)).body.resources;
  }

  test("push stages in a container and runs the app in one: routed, on its container IP, as vcap", async () => {
    const push = await cfDone(["push", "node-hello", "-p", join(FIXTURES, "node-hello"), "-m", "128M"]);
    expect(push.out).toContain("Waiting for app node-hello to start...");
    // Staging ran the nodejs buildpack with the stack's node, inside its container.
    expect((await s.ok(["logs", "node-hello", "--recent"])).out).toContain("Node.js v18");
    expect(s.eirini.stdout() + s.eirini.stderr()).not.toContain("CONTAINER ISOLATION IS OFF");
    const res = await s.route("node-hello");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { message: string }).message).toBe("hello from node-hello");
    const st = await stats("node-hello");
    expect(st[0]!.state).toBe("RUNNING");
    expect(st[0]!.host).toMatch(/^10\./);
    await waitFor(() => bundles().length === 1, { what: "one container (staging's removed)" });
  }, 200_000);

  test("scale, restart and a task all run in containers", async () => {
    await cfDone(["scale", "node-hello", "-i", "2"]);
    await waitFor(async () => (await stats("node-hello")).filter((i) => i.state === "RUNNING").length === 2, { timeoutMs: 30_000, what: "two running instances" });
    const before = await waitFor(() => (bundles().length === 2 ? bundles() : null), { what: "two containers" });
    await cfDone(["restart", "node-hello"]);
    await waitFor(async () => (await stats("node-hello")).filter((i) => i.state === "RUNNING").length === 2, { timeoutMs: 30_000, what: "two running instances after restart" });
    expect(bundles().some((b) => before.includes(b))).toBe(false);
    await s.ok(["run-task", "node-hello", "--command", 'test "$(id -u)" = 2000 && test ! -e /proc/1/root/etc/shadow-probe && node -e "process.exit(0)"', "--name", "as-vcap"]);
    const apps = await s.api<{ resources: { guid: string }[] }>("/v3/apps?names=node-hello");
    const task = await waitFor(async () => {
      const t = await s.api<{ resources: { name: string; state: string }[] }>(`/v3/apps/${apps.body.resources[0]!.guid}/tasks`);
      const x = t.body.resources.find((r) => r.name === "as-vcap");
      return x && (x.state === "SUCCEEDED" || x.state === "FAILED") ? x : null;
    }, { timeoutMs: 30_000, what: "the task to finish" });
    expect(task.state).toBe("SUCCEEDED");
  }, 200_000);

  test("kill -9 of the appliance leaves the containers serving; the next start re-adopts them; a clean stop removes them", async () => {
    await waitFor(() => bundles().length === 2, { what: "the replaced containers to be removed" });
    const before = bundles();
    await s.eirini.stop("SIGKILL");
    const st = await stats("node-hello").catch(() => []);
    expect(st).toEqual([]);
    let next: RunningEirini | undefined;
    try {
      next = await startEirini(["--port", String(s.port), "--data-dir", s.dataDir], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: s.password, ...env });
      const res = await waitFor(async () => {
        const r = await s.route("node-hello");
        return r.status === 200 ? r : null;
      }, { timeoutMs: 30_000, what: "node-hello through the router after the restart" });
      expect(res.status).toBe(200);
      expect(bundles()).toEqual(before);
      expect(await next.stop("SIGTERM")).toBe(0);
      expect(bundles()).toEqual([]);
      expect(existsSync(join(s.dataDir, "opi-local", "containers", "net", "ipam"))).toBe(false);
    } finally {
      if (next && next.proc.exitCode === null) await next.stop("SIGKILL");
    }
  }, 200_000);
});
