import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT, runEirini, startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * The product's promise, end to end, with the real binary (or sources):
 * push source, get a routed app; scale; crash and restart; appliance restart.
 */
const PASSWORD = "e2e-admin-password";
let dataDir: string;
let home: string;
let eirini: RunningEirini;
let port: number;

const cli = (...args: string[]) => runEirini(args, { HOME: home, EIRINI_CLIENT_CONFIG: join(home, "client.json") });

async function token(): Promise<string> {
  return (JSON.parse(await Bun.file(join(home, "client.json")).text()) as { access_token: string }).access_token;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${eirini.url}${path}`, { headers: { authorization: `bearer ${await token()}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function hello(): Promise<{ index: string; pid: number; app: string } | null> {
  const res = await fetch(`http://node-hello.apps.localhost:${port}/`).catch(() => null);
  return res?.ok ? ((await res.json()) as { index: string; pid: number; app: string }) : null;
}

async function webStats(): Promise<{ index: number; state: string }[]> {
  const apps = await api<{ resources: { guid: string }[] }>("/v3/apps?names=node-hello");
  const procs = await api<{ resources: { guid: string; type: string }[] }>(`/v3/apps/${apps.resources[0]!.guid}/processes`);
  const web = procs.resources.find((p) => p.type === "web")!;
  return (await api<{ resources: { index: number; state: string }[] }>(`/v3/processes/${web.guid}/stats`)).resources;
}

beforeAll(async () => {
  dataDir = tempDir();
  home = tempDir();
  eirini = await startEirini(["--port", "0", "--data-dir", dataDir], { EIRINI_ADMIN_PASSWORD: PASSWORD });
  port = Number(new URL(eirini.url).port);
});

afterAll(async () => {
  await eirini?.stop();
  cleanupTempDirs();
});

describe("cf push, end to end", () => {
  test("login, then push test-fixtures/node-hello and reach it through the router", async () => {
    const login = await cli("login", "--api", eirini.url, "-p", PASSWORD);
    expect(login.stderr).toBe("");
    expect(login.code).toBe(0);
    const push = await cli("push", join(REPO_ROOT, "test-fixtures", "node-hello"));
    if (push.code !== 0) console.error(push.stdout, push.stderr);
    expect(push.code).toBe(0);
    expect(push.stdout).toContain("Staging app and tracing logs");
    expect(push.stdout).toContain(`node-hello.apps.localhost:${port}`);
    expect(push.stdout).toMatch(/#0\s+running/);
    const body = await waitFor(hello, { what: "the app through the router" });
    expect(body.app).toBe("node-hello");
    expect(body.index).toBe("0");
  });

  test("scale to 3 gives three instances with distinct CF_INSTANCE_INDEX", async () => {
    const scale = await cli("scale", "node-hello", "-i", "3");
    expect(scale.code).toBe(0);
    await waitFor(async () => (await webStats()).filter((s) => s.state === "RUNNING").length === 3, { timeoutMs: 30_000, what: "3 running instances" });
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const b = await hello();
        if (b) seen.add(b.index);
        return seen.size === 3;
      },
      { timeoutMs: 10_000, intervalMs: 1, what: "all three indexes through the router" },
    );
    expect([...seen].sort()).toEqual(["0", "1", "2"]);
    const apps = await cli("apps");
    expect(apps.stdout).toMatch(/node-hello\s+started\s+web:3\/3/);
  });

  test("killing an instance's process shows a crash event and a restart", async () => {
    const victim = (await waitFor(hello, { what: "an instance" })).pid;
    process.kill(victim, "SIGKILL");
    const apps = await api<{ resources: { guid: string }[] }>("/v3/apps?names=node-hello");
    const guid = apps.resources[0]!.guid;
    await waitFor(
      async () => (await api<{ resources: { type: string }[] }>(`/v3/audit_events?target_guids=${guid}`)).resources.some((e) => e.type === "audit.app.process.crash"),
      { timeoutMs: 20_000, what: "a crash audit event" },
    );
    await waitFor(async () => (await webStats()).filter((s) => s.state === "RUNNING").length === 3, { timeoutMs: 30_000, what: "the crashed instance to come back" });
    const pids = new Set<number>();
    for (let i = 0; i < 30; i++) pids.add((await hello())?.pid ?? 0);
    expect(pids.has(victim)).toBe(false);
  });

  test("restarting the appliance keeps the app running", async () => {
    expect(await eirini.stop()).toBe(0);
    eirini = await startEirini(["--port", String(port), "--data-dir", dataDir]);
    await waitFor(hello, { timeoutMs: 30_000, what: "the app after the appliance restarted" });
    await waitFor(async () => (await webStats()).filter((s) => s.state === "RUNNING").length === 3, { timeoutMs: 30_000, what: "3 instances after restart" });
  });

  test("push with a named buildpack and start command skips detection", async () => {
    const push = await cli("push", join(REPO_ROOT, "test-fixtures", "node-hello"), "--name", "hello-binary", "-b", "binary", "-c", "node server.js", "-m", "64M");
    if (push.code !== 0) console.error(push.stdout, push.stderr);
    expect(push.code).toBe(0);
    const res = await waitFor(() => fetch(`http://hello-binary.apps.localhost:${port}/`).then((r) => (r.ok ? r.json() : null), () => null), { what: "hello-binary" });
    expect((res as { app: string }).app).toBe("hello-binary");
  });

  test("recent logs hold staging and app output", async () => {
    const logs = await cli("logs", "node-hello", "--recent");
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("[STG]");
    expect(logs.stdout).toMatch(/\[APP\/PROC\/WEB\/\d\] OUT node-hello instance \d listening/);
  });
});
