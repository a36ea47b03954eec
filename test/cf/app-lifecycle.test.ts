import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeCf, CF7_BIN, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { answer, appGuid, procfileApp, processOf, routesOf, statsOf } from "./apps.ts";

/** The everyday app commands after a push, each checked through the API and the router. */
let s: CfSession;
let src: string;
const running = async (app: string, n = 1) => (await statsOf(s, app)).filter((x) => x.state === "RUNNING").length >= n;

describeCf("real cf CLI: app lifecycle", () => {
  beforeAll(async () => {
    s = await startCfSession();
    src = procfileApp();
    await s.ok(["push", "life", "-p", src, "-m", "128M"]);
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("apps and app show the app, its state, route and instances", async () => {
    const apps = (await s.ok(["apps"])).stdout;
    expect(apps).toMatch(/life\s+started\s+web:1\/1(, worker:0\/0)?\s+life\.apps\.localhost/);
    const app = (await s.ok(["app", "life"])).stdout;
    expect(app).toMatch(/requested state:\s+started/);
    expect(app).toMatch(/routes:\s+life\.apps\.localhost/);
    expect(app).toMatch(/#0\s+running/);
  }, 30_000);

  test("process stats report the instance's real memory and disk usage", async () => {
    const usage = await waitFor(async () => {
      const u = (await statsOf(s, "life"))[0]?.usage;
      return u && (u.mem ?? 0) > 0 && (u.disk ?? 0) > 0 ? u : undefined;
    }, { timeoutMs: 10_000, what: "usage in stats" });
    // A node process holds megabytes, and far less than its 128 MB limit.
    expect(usage.mem).toBeGreaterThan(1024 * 1024);
    expect(usage.mem).toBeLessThan(128 * 1024 * 1024);
    expect(usage.cpu).toBeGreaterThanOrEqual(0);
    expect((await s.ok(["app", "life"])).stdout).toMatch(/#0\s+running\s+\S+\s+[\d.]+%\s+[\d.]+[KM] of 128M/);
  }, 30_000);

  test("scale -i adds instances; scale -m -k -f restarts with the new limits", async () => {
    await s.ok(["scale", "life", "-i", "2"]);
    expect((await processOf(s, "life")).instances).toBe(2);
    await waitFor(() => running("life", 2), { timeoutMs: 15_000, what: "2 running instances" });
    const before = (await statsOf(s, "life")).map((x) => x.instance_guid);
    await s.ok(["scale", "life", "-m", "192M", "-k", "512M", "-f"]);
    expect(await processOf(s, "life")).toMatchObject({ instances: 2, memory_in_mb: 192, disk_in_mb: 512 });
    await waitFor(() => running("life", 1), { timeoutMs: 15_000, what: "running after scale -m" });
    const after = (await statsOf(s, "life")).map((x) => x.instance_guid);
    expect(after.some((g) => before.includes(g))).toBe(false);
    expect(JSON.parse(await answer(s, "life", "/vcap")).limits.mem).toBe(192);
    await s.ok(["scale", "life", "-i", "1"]);
    expect((await statsOf(s, "life"))).toHaveLength(1);
  }, 45_000);

  test("stop, start and restart change the state and what the router answers", async () => {
    await s.ok(["stop", "life"]);
    const guid = await appGuid(s, "life");
    expect((await s.api<{ state: string }>(`/v3/apps/${guid}`)).body.state).toBe("STOPPED");
    expect((await statsOf(s, "life")).map((x) => x.state)).toEqual(["DOWN"]);
    await waitFor(async () => (await answer(s, "life")).startsWith("HTTP"), { timeoutMs: 10_000, what: "router to stop answering" });
    await s.ok(["start", "life"]);
    expect((await s.api<{ state: string }>(`/v3/apps/${guid}`)).body.state).toBe("STARTED");
    expect(await answer(s, "life")).toBe("web 0 /");
    const first = (await statsOf(s, "life"))[0]?.instance_guid;
    await s.ok(["restart", "life"]);
    expect((await statsOf(s, "life"))[0]?.instance_guid).not.toBe(first);
    expect(await answer(s, "life")).toBe("web 0 /");
  }, 45_000);

  test("restage builds a new droplet and runs it", async () => {
    const guid = await appGuid(s, "life");
    const before = (await s.api<{ data: { guid: string } }>(`/v3/apps/${guid}/relationships/current_droplet`)).body.data.guid;
    await s.ok(["restage", "life"]);
    const after = (await s.api<{ data: { guid: string } }>(`/v3/apps/${guid}/relationships/current_droplet`)).body.data.guid;
    expect(after).not.toBe(before);
    expect(await answer(s, "life")).toBe("web 0 /");
  }, 45_000);

  test("restart-app-instance replaces that one instance", async () => {
    const before = (await statsOf(s, "life"))[0]?.instance_guid;
    await s.ok(["restart-app-instance", "life", "0"]);
    await waitFor(async () => {
      const st = (await statsOf(s, "life"))[0];
      return st?.state === "RUNNING" && st.instance_guid !== before;
    }, { timeoutMs: 15_000, what: "a new instance 0" });
  }, 30_000);

  test("env, set-env and unset-env: the variable reaches the app after a restart and leaves again", async () => {
    await s.ok(["set-env", "life", "GREETING", "hi there"]);
    const guid = await appGuid(s, "life");
    expect((await s.api<{ var: Record<string, string> }>(`/v3/apps/${guid}/environment_variables`)).body.var).toEqual({ GREETING: "hi there" });
    expect((await s.ok(["env", "life"])).stdout).toContain("GREETING: hi there");
    await s.ok(["restart", "life"]);
    expect(await answer(s, "life", "/env/GREETING")).toBe("hi there");
    await s.ok(["unset-env", "life", "GREETING"]);
    expect((await s.api<{ var: Record<string, string> }>(`/v3/apps/${guid}/environment_variables`)).body.var).toEqual({});
    await s.ok(["restart", "life"]);
    expect(await answer(s, "life", "/env/GREETING")).toBe("");
  }, 45_000);

  test("set-health-check and get-health-check", async () => {
    await s.ok(["set-health-check", "life", "http", "--endpoint", "/health"]);
    expect((await processOf(s, "life")).health_check).toMatchObject({ type: "http", data: { endpoint: "/health" } });
    const got = (await s.ok(["get-health-check", "life"])).stdout;
    expect(got).toMatch(/web\s+http\s+\/health/);
    await s.ok(["set-health-check", "life", "port"]);
    expect((await processOf(s, "life")).health_check.type).toBe("port");
  }, 30_000);

  test("ssh-enabled, enable-ssh and disable-ssh answer; cf ssh says it is not available", async () => {
    const guid = await appGuid(s, "life");
    await s.ok(["disable-ssh", "life"]);
    expect((await s.api<{ enabled: boolean }>(`/v3/apps/${guid}/features/ssh`)).body.enabled).toBe(false);
    await s.ok(["enable-ssh", "life"]);
    expect((await s.api<{ enabled: boolean }>(`/v3/apps/${guid}/features/ssh`)).body.enabled).toBe(true);
    const r = await s.ok(["ssh-enabled", "life"]);
    expect(r.stdout).toContain("SSH is not available on the Eirini appliance");
    const ssh = await s.cf(["ssh", "life"], { timeoutMs: 15_000 });
    expect(ssh.code).not.toBe(0);
    expect(ssh.out).toContain("SSH endpoint not set");
  }, 30_000);

  test("logs --recent shows staging, API, cell and app lines as CF tags them", async () => {
    await answer(s, "life", "/hello-log");
    const out = await waitFor(async () => {
      const o = (await s.ok(["logs", "life", "--recent"])).stdout;
      return o.includes("served /hello-log") ? o : undefined;
    }, { timeoutMs: 10_000, what: "the app's line in the recent logs" });
    expect(out).toContain("[STG/0]");
    expect(out).toMatch(/\[API\/0\]\s+OUT Created app with guid/);
    expect(out).toMatch(/\[API\/0\]\s+OUT Restarted app with guid/);
    expect(out).toMatch(/\[CELL\/0\]\s+OUT Cell \S+ creating container for instance/);
    expect(out).toMatch(/\[CELL\/0\]\s+OUT Container became healthy/);
    expect(out).toMatch(/\[APP\/PROC\/WEB\/0\]\s+OUT served \/hello-log/);
  }, 30_000);

  test("streaming logs shows new lines as they come", async () => {
    const proc = Bun.spawn([CF7_BIN, "logs", "life"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: s.cfHome, CF_HOME: s.cfHome, CF_COLOR: "false" },
      stdout: "pipe",
      stderr: "pipe",
    });
    let seen = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout) seen += dec.decode(chunk, { stream: true });
    })();
    try {
      await waitFor(() => seen.includes("Retrieving logs"), { timeoutMs: 10_000, what: "cf logs to start" });
      // Spaced requests: the CLI starts streaming only once the newest line is over a second old (its log-cache walk delay).
      await waitFor(async () => {
        await answer(s, "life", "/streamed");
        return seen.includes("served /streamed");
      }, { timeoutMs: 20_000, intervalMs: 2_500, what: "the streamed line" }).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; cf logs printed:\n${seen}`);
      });
      expect(seen).toMatch(/\[APP\/PROC\/WEB\/0\]\s+OUT served \/streamed/);
    } finally {
      proc.kill();
      await proc.exited;
      await reading.catch(() => {});
    }
  }, 30_000);

  test("a crash is recorded as app.crash and audit.app.process.crash, and cf events shows it", async () => {
    expect(await answer(s, "life", "/crash")).toBe("bye");
    const out = await waitFor(async () => {
      const o = (await s.ok(["events", "life"])).stdout;
      return o.includes("app.crash") && o.includes("audit.app.process.crash") ? o : undefined;
    }, { timeoutMs: 15_000, what: "crash events" });
    expect(out).toMatch(/app\.crash\s+life/);
    const logs = await waitFor(async () => {
      const o = (await s.ok(["logs", "life", "--recent"])).stdout;
      return o.includes("Exit status 3") ? o : undefined;
    }, { timeoutMs: 10_000, what: "the cell's exit line" });
    expect(logs).toMatch(/\[CELL\/0\]\s+OUT Exit status 3/);
    expect(logs).toMatch(/\[API\/0\]\s+OUT App instance exited with guid/);
    await waitFor(() => running("life"), { timeoutMs: 15_000, what: "the instance to come back" });
  }, 45_000);

  test("rename keeps the app and its routes under the new name", async () => {
    const guid = await appGuid(s, "life");
    await s.ok(["rename", "life", "renamed"]);
    expect(await appGuid(s, "renamed")).toBe(guid);
    expect((await s.api<{ resources: unknown[] }>("/v3/apps?names=life")).body.resources).toEqual([]);
    expect(await routesOf(s, "renamed")).toEqual(["life.apps.localhost"]);
  }, 30_000);

  test("create-app makes a stopped app with no droplet", async () => {
    await s.ok(["create-app", "empty"]);
    const guid = await appGuid(s, "empty");
    expect((await s.api<{ state: string }>(`/v3/apps/${guid}`)).body.state).toBe("STOPPED");
    expect((await s.ok(["apps"])).stdout).toMatch(/empty\s+stopped/);
  }, 30_000);

  test("delete -r removes the app and its routes, and the router forgets it", async () => {
    await s.ok(["delete", "renamed", "-r", "-f"]);
    expect((await s.api<{ resources: unknown[] }>("/v3/apps?names=renamed")).body.resources).toEqual([]);
    expect((await s.api<{ resources: unknown[] }>("/v3/routes?hosts=life")).body.resources).toEqual([]);
    await waitFor(async () => (await answer(s, "life")) === "HTTP 404", { timeoutMs: 10_000, what: "the route to be gone" });
  }, 30_000);
});
