import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { answer, appGuid, nodeHello, procfileApp, processOf, routesOf, statsOf } from "./apps.ts";

/** `cf push -f manifest.yml` with several apps, processes, routes, env, --var and --vars-file; `cf create-app-manifest` round trip. */
let s: CfSession;
let dir: string;
describeCf("real cf CLI: push with a manifest", () => {
  beforeAll(async () => {
    s = await startCfSession();
    dir = tempDir("eirini-cf-manifest-");
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("a multi-app manifest with processes, routes, env, --var and --vars-file", async () => {
    const web = procfileApp();
    const hello = nodeHello();
    writeFileSync(join(dir, "vars.yml"), "greeting: hello-from-vars-file\nworkers: 1\n");
    writeFileSync(
      join(dir, "manifest.yml"),
      [
        "applications:",
        "- name: shop-((suffix))",
        `  path: ${web}`,
        "  env:",
        "    GREETING: ((greeting))",
        "  routes:",
        "  - route: shop-((suffix)).apps.localhost",
        "  - route: shop-((suffix)).apps.localhost/api",
        "  processes:",
        "  - type: web",
        "    instances: 2",
        "    memory: 128M",
        "    disk_quota: 256M",
        "    health-check-type: http",
        "    health-check-http-endpoint: /health",
        "    timeout: 20",
        "  - type: worker",
        "    instances: ((workers))",
        "    memory: 64M",
        "    health-check-type: process",
        "- name: plain-((suffix))",
        `  path: ${hello}`,
        "  memory: 256M",
        "  random-route: true",
        "",
      ].join("\n"),
    );
    await s.ok(["push", "-f", join(dir, "manifest.yml"), "--var", "suffix=one", "--vars-file", join(dir, "vars.yml")]);

    const web1 = await processOf(s, "shop-one", "web");
    expect(web1).toMatchObject({ instances: 2, memory_in_mb: 128, disk_in_mb: 256, command: "node web.js" });
    expect(web1.health_check).toMatchObject({ type: "http", data: { endpoint: "/health", timeout: 20 } });
    const worker = await processOf(s, "shop-one", "worker");
    expect(worker).toMatchObject({ instances: 1, memory_in_mb: 64, command: "node worker.js" });
    expect(worker.health_check.type).toBe("process");
    expect((await statsOf(s, "shop-one", "worker"))[0]?.state).toBe("RUNNING");
    expect((await statsOf(s, "shop-one", "web")).some((x) => x.state === "RUNNING")).toBe(true);
    expect(await routesOf(s, "shop-one")).toEqual(["shop-one.apps.localhost", "shop-one.apps.localhost/api"]);
    expect(await answer(s, "shop-one", "/env/GREETING")).toBe("hello-from-vars-file");
    const vcap = JSON.parse(await answer(s, "shop-one", "/vcap")) as { limits: { mem: number }; application_uris: string[] };
    expect(vcap.limits.mem).toBe(128);
    expect(vcap.application_uris.sort()).toEqual(["shop-one.apps.localhost", "shop-one.apps.localhost/api"]);

    expect((await processOf(s, "plain-one")).memory_in_mb).toBe(256);
    const [url] = await routesOf(s, "plain-one");
    expect(url).toMatch(/^plain-one-[a-z0-9-]+\.apps\.localhost$/);
    expect(JSON.parse(await answer(s, url!.split(".")[0]!)).app).toBe("plain-one");
  }, 60_000);

  test("create-app-manifest writes the app's settings, and pushing it back changes nothing", async () => {
    const out = join(dir, "generated.yml");
    await s.ok(["create-app-manifest", "shop-one", "-p", out]);
    const text = await Bun.file(out).text();
    expect(text).toContain("name: shop-one");
    expect(text).toContain("route: shop-one.apps.localhost/api");
    expect(text).toContain("type: worker");
    expect(text).toContain("GREETING: hello-from-vars-file");
    const before = await processOf(s, "shop-one", "web");
    await s.ok(["push", "shop-one", "-f", out, "-p", procfileApp()]);
    const after = await processOf(s, "shop-one", "web");
    expect({ ...after, guid: before.guid }).toMatchObject({ instances: 2, memory_in_mb: 128, disk_in_mb: 256, health_check: before.health_check });
    expect(await routesOf(s, "shop-one")).toEqual(["shop-one.apps.localhost", "shop-one.apps.localhost/api"]);
    expect(await answer(s, "shop-one", "/env/GREETING")).toBe("hello-from-vars-file");
  }, 60_000);

  test("a manifest that names a docker image is refused before anything is created", async () => {
    writeFileSync(join(dir, "docker.yml"), "applications:\n- name: boxed\n  docker:\n    image: busybox\n");
    const r = await s.cf(["push", "-f", join(dir, "docker.yml")]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("Docker images cannot run on this Eirini appliance");
    expect((await s.api<{ resources: unknown[] }>("/v3/apps?names=boxed")).body.resources).toEqual([]);
    // Nothing else was touched either.
    expect(await appGuid(s, "shop-one")).toBeTruthy();
  }, 30_000);
});
