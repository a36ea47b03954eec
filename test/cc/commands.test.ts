import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanupTempDirs } from "../support/tmp.ts";
import { waitFor } from "../support/poll.ts";
import * as S from "./cli-shapes.ts";
import { makeHarness, makeZip, uploadForm, type Harness } from "./harness.ts";

/**
 * The request sequences of the other cf commands the issue lists, as the
 * v7/v8 CLI issues them (actor/v7action), against one pushed app.
 */
let h: Harness;
let app: { guid: string; name: string };
let web: { guid: string };

async function pushApp(name: string, manifestExtra = "") {
  const space = h.spaceGuid();
  const res = await h.req("POST", `/v3/spaces/${space}/actions/apply_manifest`, { raw: `applications:\n- name: ${name}\n  default-route: true\n${manifestExtra}`, headers: { "content-type": "application/x-yaml" } });
  expect(res.status).toBe(202);
  const a = (await h.json("GET", `/v3/apps?names=${name}&space_guids=${space}`)).resources[0];
  const pkg = await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: a.guid } } } }, 201);
  const up = await h.req("POST", `/v3/packages/${pkg.guid}/upload`, { raw: uploadForm([], makeZip({ "server.js": { data: "x" } })) });
  expect(up.status).toBe(200);
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  const staged = await waitFor(async () => {
    const b = await h.json("GET", `/v3/builds/${build.guid}`);
    return b.state === "STAGED" ? b : null;
  });
  await h.json("PATCH", `/v3/apps/${a.guid}/relationships/current_droplet`, { data: { guid: staged.droplet.guid } });
  await h.json("POST", `/v3/apps/${a.guid}/actions/start`);
  await h.converge();
  return a as { guid: string; name: string };
}

beforeAll(async () => {
  h = await makeHarness();
  app = await pushApp("web-app");
  web = (await h.json("GET", `/v3/apps/${app.guid}/processes/web`)) as { guid: string };
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

const webLrp = () => h.cc.desiredProcesses().find((l) => l.app_guid === app.guid && l.process_type === "web");

describe("cf apps / cf app", () => {
  test("cf apps: apps by space ordered by name, processes by app_guids, stats, routes by app_guids", async () => {
    const apps = S.parseAs(S.Page, await h.json("GET", `/v3/apps?space_guids=${h.spaceGuid()}&order_by=name&per_page=5000`));
    expect(apps.resources.map((a) => S.parseAs(S.App, a).name)).toContain("web-app");
    const procs = S.parseAs(S.Page, await h.json("GET", `/v3/processes?app_guids=${app.guid}&per_page=5000`));
    const p = S.parseAs(S.Process, procs.resources.find((x) => (x as { type: string }).type === "web"));
    expect(p.command).toBe("[PRIVATE DATA HIDDEN IN LISTS]");
    S.parseAs(S.Page, await h.json("GET", `/v3/routes?app_guids=${app.guid}&per_page=5000`));
  });

  test("cf app: app with include, current droplet, process detail with command, stats", async () => {
    const withSpace = await h.json("GET", `/v3/apps?names=web-app&space_guids=${h.spaceGuid()}&include=space.organization`);
    expect(withSpace.included.spaces[0].name).toBe("dev");
    expect(withSpace.included.organizations[0].name).toBe("eirini");
    const d = S.parseAs(S.Droplet, await h.json("GET", `/v3/apps/${app.guid}/droplets/current`));
    expect(d.stack).toBe("cflinuxfs4");
    const p = S.parseAs(S.Process, await h.json("GET", `/v3/processes/${web.guid}`));
    // No user command: CC shows the one detected at staging.
    expect(p.command).toBe("node server.js");
    const stats = (await h.json("GET", `/v3/processes/${web.guid}/stats`)).resources.map((i: unknown) => S.parseAs(S.ProcessInstance, i));
    expect(stats[0].state).toBe("RUNNING");
    expect(stats[0].mem_quota).toBe(1024 * 1024 * 1024);
  });
});

describe("cf scale / stop / start / restart / restage", () => {
  test("cf scale -i 3: 202, process and desired LRP follow, same version (scaled in place)", async () => {
    const before = webLrp()!;
    const scaled = S.parseAs(S.Process, await h.json("POST", `/v3/apps/${app.guid}/processes/web/actions/scale`, { instances: 3 }, 202));
    expect(scaled.instances).toBe(3);
    const after = webLrp()!;
    expect(after.instances).toBe(3);
    expect(after.version).toBe(before.version);
    expect(after.last_updated).not.toBe(before.last_updated);
    h.advance(1000);
    await h.json("POST", `/v3/processes/${web.guid}/actions/scale`, { memory_in_mb: 512, disk_in_mb: 2048 }, 202);
    expect(webLrp()!.memory_mb).toBe(512);
  });

  test("cf stop removes the LRP from desired state; cf start brings a new version", async () => {
    const v1 = webLrp()!.version;
    expect(S.parseAs(S.App, await h.json("POST", `/v3/apps/${app.guid}/actions/stop`)).state).toBe("STOPPED");
    expect(webLrp()).toBeUndefined();
    const stats = (await h.json("GET", `/v3/processes/${web.guid}/stats`)).resources;
    expect(stats.every((i: { state: string }) => i.state === "DOWN")).toBe(true);
    expect(S.parseAs(S.App, await h.json("POST", `/v3/apps/${app.guid}/actions/start`)).state).toBe("STARTED");
    expect(webLrp()!.version).not.toBe(v1);
  });

  test("cf restart: a new version; cf restage: new build from the newest package, new droplet", async () => {
    const v1 = webLrp()!.version;
    await h.json("POST", `/v3/apps/${app.guid}/actions/restart`);
    expect(webLrp()!.version).not.toBe(v1);
    // restage (actor/v7action/droplet.go + build.go): newest package, staged droplets of it, new build
    const pkgs = await h.json("GET", `/v3/packages?app_guids=${app.guid}&order_by=-created_at&per_page=1`);
    const pkg = pkgs.resources[0];
    S.parseAs(S.Page, await h.json("GET", `/v3/packages/${pkg.guid}/droplets?states=STAGED&per_page=1`));
    const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
    const staged = await waitFor(async () => ((await h.json("GET", `/v3/builds/${build.guid}`)).state === "STAGED" ? await h.json("GET", `/v3/builds/${build.guid}`) : null));
    await h.json("POST", `/v3/apps/${app.guid}/actions/stop`);
    await h.json("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: staged.droplet.guid } });
    await h.json("POST", `/v3/apps/${app.guid}/actions/start`);
    const lrp = webLrp()!;
    expect((lrp.lifecycle as { buildpack_lifecycle: { droplet_guid: string } }).buildpack_lifecycle.droplet_guid).toBe(staged.droplet.guid);
  });

  test("a failed staging: build FAILED with CF's StagingError text, STG error line in log-cache", async () => {
    h.stager.failWith = "No buildpack detected";
    const pkg = (await h.json("GET", `/v3/packages?app_guids=${app.guid}&order_by=-created_at&per_page=1`)).resources[0];
    const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
    const failed = await waitFor(async () => {
      const b = S.parseAs(S.Build, await h.json("GET", `/v3/builds/${build.guid}`));
      return b.state === "FAILED" ? b : null;
    });
    h.stager.failWith = null;
    expect(failed.error).toBe("StagingError - Staging error: No buildpack detected");
    expect(failed.droplet).toBeNull();
  });
});

describe("cf env / set-env / unset-env", () => {
  test("set-env then env then unset-env", async () => {
    const set = S.parseAs(S.EnvVars, await h.json("PATCH", `/v3/apps/${app.guid}/environment_variables`, { var: { GREETING: "hello" } }));
    expect(set.var.GREETING).toBe("hello");
    const env = S.parseAs(S.Env, await h.json("GET", `/v3/apps/${app.guid}/env`));
    expect(env.environment_variables).toEqual({ GREETING: "hello" });
    expect((env.application_env_json.VCAP_APPLICATION as { application_uris: string[] }).application_uris).toEqual(["web-app.apps.localhost"]);
    expect(webLrp()!.environment.GREETING).toBe("hello");
    const unset = S.parseAs(S.EnvVars, await h.json("PATCH", `/v3/apps/${app.guid}/environment_variables`, { var: { GREETING: null } }));
    expect(unset.var).toEqual({});
  });
});

describe("cf routes / map-route / unmap-route", () => {
  test("map-route creates the route and a destination; routes lists it; unmap removes it", async () => {
    const domains = await h.json("GET", "/v3/domains?names=apps.localhost");
    const domain = S.parseAs(S.Domain, domains.resources[0]);
    const existing = await h.json("GET", `/v3/routes?domain_guids=${domain.guid}&hosts=extra&paths=`);
    expect(existing.resources).toEqual([]);
    const route = S.parseAs(S.Route, await h.json("POST", "/v3/routes", { host: "extra", relationships: { space: { data: { guid: h.spaceGuid() } }, domain: { data: { guid: domain.guid } } } }, 201));
    expect(route.url).toBe("extra.apps.localhost");
    await h.json("POST", `/v3/routes/${route.guid}/destinations`, { destinations: [{ app: { guid: app.guid, process: { type: "web" } } }] });
    expect(webLrp()!.routes["cf-router"]!.map((r) => r.hostname).sort()).toEqual(["extra.apps.localhost", "web-app.apps.localhost"]);
    const listed = await h.json("GET", `/v3/routes?space_guids=${h.spaceGuid()}&include=domain`);
    expect(listed.resources.map((r: unknown) => S.parseAs(S.Route, r).host).sort()).toEqual(["extra", "web-app"]);
    expect(listed.included.domains[0].name).toBe("apps.localhost");
    const dests = await h.json("GET", `/v3/routes/${route.guid}/destinations`);
    expect((await h.req("DELETE", `/v3/routes/${route.guid}/destinations/${dests.destinations[0].guid}`)).status).toBe(204);
    expect(webLrp()!.routes["cf-router"]!.map((r) => r.hostname)).toEqual(["web-app.apps.localhost"]);
    const del = await h.req("DELETE", `/v3/routes/${route.guid}`);
    expect(del.status).toBe(202);
    expect(S.parseAs(S.Job, await h.json("GET", del.headers.get("location")!)).state).toBe("COMPLETE");
  });

  test("--random-route and --no-route from the manifest", async () => {
    const random = await pushApp("rnd", "  random-route: true\n");
    const routes = (await h.json("GET", `/v3/apps/${random.guid}/routes`)).resources;
    expect(routes).toHaveLength(1);
    expect(routes[0].host).toMatch(/^rnd-[a-f0-9]{8}$/);
    const none = await pushApp("quiet", "  no-route: true\n");
    expect((await h.json("GET", `/v3/apps/${none.guid}/routes`)).resources).toEqual([]);
  });
});

describe("cf run-task / tasks / terminate-task", () => {
  test("run-task goes to OPI, tasks lists it, terminate-task cancels it, completion sets the state", async () => {
    const task = S.parseAs(S.Task, await h.json("POST", `/v3/apps/${app.guid}/tasks`, { command: "node migrate.js", name: "migrate" }, 202));
    expect(task.state).toBe("RUNNING");
    expect(h.opi.calls).toContain(`task ${task.guid}`);
    const listed = await h.json("GET", `/v3/apps/${app.guid}/tasks?order_by=-created_at`);
    expect(listed.resources.map((t: unknown) => S.parseAs(S.Task, t).name)).toContain("migrate");
    const bySeq = await h.json("GET", `/v3/apps/${app.guid}/tasks?sequence_ids=${task.sequence_id}`);
    expect(bySeq.resources[0].guid).toBe(task.guid);
    const cancelled = S.parseAs(S.Task, await h.json("POST", `/v3/tasks/${task.guid}/actions/cancel`, undefined, 202));
    expect(cancelled.state).toBe("CANCELING");
    expect(h.opi.calls).toContain(`cancel ${task.guid}`);
    h.cc.recordTaskCompletion({ type: "task_completed", task_guid: task.guid, state: "FAILED", failed: true, failure_reason: "cancelled", at: 0 });
    expect((await h.json("GET", `/v3/tasks/${task.guid}`)).state).toBe("FAILED");

    const ok = await h.json("POST", `/v3/apps/${app.guid}/tasks`, { command: "true" }, 202);
    expect(ok.sequence_id).toBe(task.sequence_id + 1);
    h.cc.recordTaskCompletion({ type: "task_completed", task_guid: ok.guid, state: "SUCCEEDED", failed: false, failure_reason: "", at: 0 });
    expect((await h.json("GET", `/v3/tasks/${ok.guid}`)).state).toBe("SUCCEEDED");
    expect((await h.req("PUT", `/v3/tasks/${ok.guid}/cancel`)).status).toBe(422);
  });
});

describe("cf logs --recent / cf events", () => {
  test("log-cache serves staging and app lines as envelopes, newest first with descending", async () => {
    const t0 = BigInt(h.now().getTime()) * 1_000_000n;
    h.logs.append({ source_id: app.guid, source_type: "APP/PROC/WEB", instance_id: "0", stream: "OUT", message: "listening on 8080", timestamp: t0 + 10_000n });
    h.logs.append({ source_id: app.guid, source_type: "APP/PROC/WEB", instance_id: "1", stream: "ERR", message: "oops", timestamp: t0 + 20_000n });
    const recent = S.parseAs(S.Envelopes, await h.json("GET", `/api/v1/read/${app.guid}?envelope_types=LOG&descending=true&limit=2`));
    expect(recent.envelopes.batch.map((e) => Buffer.from(e.log.payload, "base64").toString())).toEqual(["oops", "listening on 8080"]);
    expect(recent.envelopes.batch[0]).toMatchObject({ instance_id: "1", tags: { source_type: "APP/PROC/WEB" }, log: { type: "ERR" }, timestamp: String(t0 + 20_000n) });
    const window = S.parseAs(S.Envelopes, await h.json("GET", `/api/v1/read/${app.guid}?start_time=${t0 + 11_000n}&end_time=${t0 + 21_000n}`));
    expect(window.envelopes.batch).toHaveLength(1);
    const counters = S.parseAs(S.Envelopes, await h.json("GET", `/api/v1/read/${app.guid}?envelope_types=COUNTER`));
    expect(counters.envelopes.batch).toEqual([]);
  });

  test("crashes become audit.app.process.crash events and an API log line", async () => {
    const lrp = webLrp()!;
    expect(h.cc.recordCrash({ type: "crash", process_guid: lrp.process_guid, instance: "i-1", index: 1, reason: "CRASHED", exit_status: 137, exit_description: "out of memory", crash_count: 2, crash_timestamp: 1 })).toBe(true);
    expect(h.cc.recordCrash({ type: "crash", process_guid: "unknown-process", instance: "", index: 0, reason: "CRASHED", exit_status: 1, exit_description: "", crash_count: 1, crash_timestamp: 1 })).toBe(false);
    const events = await h.json("GET", `/v3/audit_events?target_guids=${app.guid}&types=audit.app.process.crash&order_by=-created_at`);
    const crash = S.parseAs(S.Event, events.resources[0]);
    expect(crash.actor).toEqual({ guid: lrp.guid, type: "process", name: "web" });
    expect(crash.data).toMatchObject({ index: 1, exit_description: "out of memory", crash_count: 2 });
    expect(h.logs.lines.some((l) => l.source_type === "API" && l.message.includes("App instance exited"))).toBe(true);
  });

  test("cf events: newest first, paginated", async () => {
    const page1 = S.parseAs(S.Page, await h.json("GET", `/v3/audit_events?target_guids=${app.guid}&order_by=-created_at&per_page=3`));
    expect(page1.resources).toHaveLength(3);
    expect(page1.pagination.total_pages).toBeGreaterThan(1);
    const next = await h.json("GET", page1.pagination.next!.href);
    expect(next.resources.length).toBeGreaterThan(0);
    expect(S.parseAs(S.Event, page1.resources[0]).type).toBe("audit.app.process.crash");
  });
});

describe("cf delete", () => {
  test("DELETE /v3/apps/:guid answers 202 with a job; the app, its routes' destinations and desired LRPs are gone", async () => {
    const victim = await pushApp("doomed");
    const changes: (string[] | undefined)[] = [];
    h.cc.desiredLRPs();
    const off = h.cc.onChange((keys) => changes.push(keys));
    const lrpGuids = h.cc.desiredProcesses().filter((l) => l.app_guid === victim.guid).map((l) => l.process_guid);
    const res = await h.req("DELETE", `/v3/apps/${victim.guid}`);
    off();
    expect(res.status).toBe(202);
    expect(S.parseAs(S.Job, await h.json("GET", res.headers.get("location")!)).state).toBe("COMPLETE");
    expect((await h.req("GET", `/v3/apps/${victim.guid}`)).status).toBe(404);
    expect(h.cc.desiredProcesses().some((l) => l.app_guid === victim.guid)).toBe(false);
    // The Sink is told which LRPs to stop.
    expect(changes.at(-1)?.sort()).toEqual(lrpGuids.sort());
    for (const g of lrpGuids) expect(h.cc.desiredLRP(g)).toBeNull();
    const events = await h.json("GET", `/v3/audit_events?target_guids=${victim.guid}&types=audit.app.delete-request`);
    expect(events.resources).toHaveLength(1);
  });
});
