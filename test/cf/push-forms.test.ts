import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { answer, appGuid, nodeHello, nodeWithSubdir, processOf, routesOf, statsOf } from "./apps.ts";

/** `cf push` in its everyday flag forms, each checked through the API and the router. */
let s: CfSession;
let hello: string;
describeCf("real cf CLI: push forms", () => {
  beforeAll(async () => {
    s = await startCfSession();
    hello = nodeHello();
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("plain push (-p): exit 0, one web instance running, the route answers", async () => {
    const r = await s.ok(["push", "plain", "-p", hello]);
    // The summary push prints shows the command the buildpack detected.
    expect(r.stdout).toMatch(/start command:\s+node server\.js/);
    expect(r.stdout).toMatch(/#0\s+running/);
    expect(JSON.parse(await answer(s, "plain")).app).toBe("plain");
    expect(await routesOf(s, "plain")).toEqual(["plain.apps.localhost"]);
    expect((await statsOf(s, "plain")).map((x) => x.state)).toEqual(["RUNNING"]);
  }, 30_000);

  test("an app with subdirectories stages from the CLI's own zip and runs", async () => {
    await s.ok(["push", "subdirs", "-p", nodeWithSubdir()]);
    expect(await answer(s, "subdirs")).toBe("from-a-subdirectory");
  }, 30_000);

  test("-b -i -m -k -s -t -u http --endpoint: every setting lands on the app and its process", async () => {
    await s.ok(["push", "tuned", "-p", hello, "-b", "nodejs", "-i", "2", "-m", "128M", "-k", "256M", "-s", "cflinuxfs4", "-t", "30", "-u", "http", "--endpoint", "/"]);
    const p = await processOf(s, "tuned");
    expect(p).toMatchObject({ instances: 2, memory_in_mb: 128, disk_in_mb: 256 });
    expect(p.health_check).toMatchObject({ type: "http", data: { timeout: 30, endpoint: "/" } });
    const app = (await s.api<{ lifecycle: { data: { buildpacks: string[]; stack: string } } }>(`/v3/apps/${await appGuid(s, "tuned")}`)).body;
    expect(app.lifecycle.data).toEqual({ buildpacks: ["nodejs"], stack: "cflinuxfs4" });
    const stats = await statsOf(s, "tuned");
    expect(stats.some((x) => x.state === "RUNNING")).toBe(true);
    expect(stats).toHaveLength(2);
    // VCAP_APPLICATION limits follow the process (128 MB), as the instance sees them.
    const env = (await s.ok(["env", "tuned"])).stdout;
    expect(env).toMatch(/"mem": 128/);
    expect(JSON.parse(await answer(s, "tuned")).app).toBe("tuned");
  }, 30_000);

  test("-c COMMAND -u port: the command runs and the process shows it", async () => {
    await s.ok(["push", "commanded", "-p", hello, "-c", "node server.js", "-u", "port"]);
    const p = await processOf(s, "commanded");
    expect(p.command).toBe("node server.js");
    expect(p.health_check.type).toBe("port");
    expect(JSON.parse(await answer(s, "commanded")).app).toBe("commanded");
  }, 30_000);

  test("-u process --no-route: running, health check process, no route at all", async () => {
    await s.ok(["push", "quiet", "-p", hello, "-u", "process", "--no-route"]);
    expect((await processOf(s, "quiet")).health_check.type).toBe("process");
    expect(await routesOf(s, "quiet")).toEqual([]);
    expect((await statsOf(s, "quiet"))[0]?.state).toBe("RUNNING");
    expect(await answer(s, "quiet")).toBe("HTTP 404");
  }, 30_000);

  test("--no-start: the app exists with its bits but stays stopped", async () => {
    await s.ok(["push", "idle", "-p", hello, "--no-start"]);
    const guid = await appGuid(s, "idle");
    const app = (await s.api<{ state: string }>(`/v3/apps/${guid}`)).body;
    expect(app.state).toBe("STOPPED");
    const pkgs = (await s.api<{ resources: { state: string }[] }>(`/v3/apps/${guid}/packages`)).body.resources;
    expect(pkgs.map((p) => p.state)).toContain("READY");
    expect((await statsOf(s, "idle")).map((x) => x.state)).toEqual(["DOWN"]);
    // `cf start` of an app never staged stages its package first, then runs it.
    await s.ok(["start", "idle"]);
    expect(JSON.parse(await answer(s, "idle")).app).toBe("idle");
  }, 30_000);

  test("--random-route: a generated host under the shared domain, and it answers", async () => {
    await s.ok(["push", "rnd", "-p", hello, "--random-route"]);
    const [url] = await routesOf(s, "rnd");
    expect(url).toMatch(/^rnd-[a-z0-9-]+\.apps\.localhost$/);
    expect(JSON.parse(await answer(s, url!.split(".")[0]!)).app).toBe("rnd");
  }, 30_000);

  test("-o IMAGE on the local backend is refused at once with the reason, and creates nothing", async () => {
    const started = Date.now();
    const r = await s.cf(["push", "boxed", "-o", "busybox"], { timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("Docker images cannot run on this Eirini appliance: its local backend has no container runtime.");
    expect(Date.now() - started).toBeLessThan(20_000);
    const apps = (await s.api<{ resources: unknown[] }>("/v3/apps?names=boxed")).body.resources;
    expect(apps).toEqual([]);
    const create = await s.cf(["create-app", "boxed", "--app-type", "docker"]);
    expect(create.code).not.toBe(0);
    expect(create.out).toContain("Docker images cannot run on this Eirini appliance");
  }, 30_000);
});
