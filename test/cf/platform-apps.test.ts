import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeCf, startCfSession, type CfResult, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Platform features the real cf CLI (v7.3.0) sees through apps: a buildpack
 * created with `cf create-buildpack` stages an app, environment variable
 * groups reach staging and instances, feature flags refuse what they guard
 * with CF's error, routes on created domains answer through the router, app
 * usage events and audit filters record it all, and `cf copy-source` copies
 * a package.
 */
let s: CfSession;
type List<T> = { resources: T[] };

/** A buildpack that detects apps holding `platform-app.txt` and records the staging env in marker.txt. */
function buildpackDir(): string {
  const dir = tempDir("eirini-cf-bp-");
  mkdirSync(join(dir, "bin"));
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, "bin", name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, "bin", name), 0o755);
  };
  script("detect", '[ -f "$1/platform-app.txt" ]');
  script("compile", 'echo "staged by platform-bp with STAGE_X=$STAGE_X" > "$1/marker.txt"');
  script("release", "printf -- '---\\ndefault_process_types:\\n  web: node server.js\\n'");
  return dir;
}

function appDir(): string {
  const dir = tempDir("eirini-cf-app-");
  writeFileSync(join(dir, "platform-app.txt"), "detect me\n");
  writeFileSync(
    join(dir, "server.js"),
    `const http = require("node:http");
const fs = require("node:fs");
http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ marker: fs.readFileSync("marker.txt", "utf8").trim(), group: process.env.GROUP_B ?? null, own: process.env.OWN ?? null }));
}).listen(Number(process.env.PORT || 8080));
`,
  );
  return dir;
}

/** `cf push`, which must exit 0 (the app summary included). */
function push(args: string[]): Promise<CfResult> {
  return s.ok(["push", ...args]);
}

async function body(host: string): Promise<{ marker: string; group: string | null; own: string | null }> {
  const res = await fetch(`${s.url}/`, { headers: { host } });
  if (res.status !== 200) throw new Error(`${host} answered ${res.status}`);
  return (await res.json()) as { marker: string; group: string | null; own: string | null };
}

describeCf("real cf CLI: platform features through apps", () => {
  beforeAll(async () => {
    s = await startCfSession();
    await s.ok(["create-buildpack", "platform-bp", buildpackDir(), "1"]);
    await s.ok(["set-staging-environment-variable-group", '{"STAGE_X":"from-staging-group"}']);
    await s.ok(["set-running-environment-variable-group", '{"GROUP_B":"from-running-group","OWN":"group-loses"}']);
    await s.ok(["create-app", "bp-app"]);
    await s.ok(["set-env", "bp-app", "OWN", "app-wins"]);
    await push(["bp-app", "-p", appDir(), "-b", "platform-bp"]);
  }, 180_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("a buildpack made with create-buildpack stages the app; env var groups reach staging and instances, the app's own vars win", async () => {
    const got = await waitFor(() => body(`bp-app.apps.localhost:${s.port}`).catch(() => undefined), { timeoutMs: 30_000, what: "bp-app to answer" });
    expect(got).toEqual({ marker: "staged by platform-bp with STAGE_X=from-staging-group", group: "from-running-group", own: "app-wins" });
    const env = (await s.ok(["env", "bp-app"])).stdout;
    expect(env).toMatch(/Running Environment Variable Groups:\s*\nGROUP_B: from-running-group/);
    expect(env).toMatch(/Staging Environment Variable Groups:\s*\nSTAGE_X: from-staging-group/);
  }, 60_000);

  test("feature flags refuse what they guard with CF's error, and allow it again when enabled", async () => {
    await s.ok(["disable-feature-flag", "task_creation"]);
    let r = await s.cf(["run-task", "bp-app", "--command", "true"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("Feature Disabled: task_creation");
    expect((await s.api<List<unknown>>("/v3/tasks")).body.resources).toHaveLength(0);
    await s.ok(["enable-feature-flag", "task_creation"]);
    await s.ok(["run-task", "bp-app", "--command", "true", "--name", "allowed"]);

    await s.ok(["disable-feature-flag", "app_scaling"]);
    r = await s.cf(["scale", "bp-app", "-i", "2"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("Feature Disabled: app_scaling");
    const web = (await s.api<List<{ instances: number }>>("/v3/processes?types=web")).body.resources[0]!;
    expect(web.instances).toBe(1);
    await s.ok(["enable-feature-flag", "app_scaling"]);

    await s.ok(["disable-feature-flag", "route_creation"]);
    r = await s.cf(["create-route", "apps.localhost", "--hostname", "refused-route"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("Feature Disabled: route_creation");
    expect((await s.api<List<unknown>>("/v3/routes?hosts=refused-route")).body.resources).toHaveLength(0);
    await s.ok(["enable-feature-flag", "route_creation"]);

    await s.ok(["disable-feature-flag", "diego_docker"]);
    r = await s.cf(["push", "docker-app", "-o", "example/image:latest"], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.out).toContain("Feature Disabled: diego_docker");
    expect((await s.api<List<unknown>>("/v3/apps?names=docker-app")).body.resources).toHaveLength(0);
    await s.ok(["enable-feature-flag", "diego_docker"]);
  }, 60_000);

  test("routes on a created shared or private domain answer through the router", async () => {
    await s.ok(["create-shared-domain", "shared.platform.test"]);
    await s.ok(["create-private-domain", "eirini", "private.platform.test"]);
    await s.ok(["map-route", "bp-app", "shared.platform.test", "--hostname", "www"]);
    await s.ok(["map-route", "bp-app", "private.platform.test"]);
    for (const host of ["www.shared.platform.test", "private.platform.test"]) {
      const got = await waitFor(() => body(host).catch(() => undefined), { timeoutMs: 30_000, what: `${host} to answer` });
      expect(got.marker).toContain("platform-bp");
    }
    // A host under the new domain that no route names is the router's, as under router.domain: gorouter's 404.
    const unknown = await fetch(`${s.url}/`, { headers: { host: "nobody.shared.platform.test" } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("x-cf-routererror")).toBe("unknown_route");
    // A domain covering the API's own host (127.0.0.1 here) is refused: the router would swallow the API.
    const swallow = await s.cf(["create-shared-domain", "0.0.1"]);
    expect(swallow.code).toBe(1);
    expect(swallow.out).toContain("would cover the appliance's own API host");
    // Deleting the domain deletes its route: the host stops answering with the app (and falls through to the API).
    await s.ok(["delete-shared-domain", "shared.platform.test", "-f"]);
    await waitFor(async () => !(await (await fetch(`${s.url}/`, { headers: { host: "www.shared.platform.test" } })).text()).includes("platform-bp") || undefined, { timeoutMs: 30_000, what: "the deleted domain's route to go" });
    expect((await fetch(`${s.url}/`, { headers: { host: "www.shared.platform.test" } })).headers.get("x-cf-routererror")).toBeNull();
    expect((await body("private.platform.test")).marker).toContain("platform-bp");
  }, 90_000);

  test("app usage events: BUILDPACK_SET, STARTED, TASK_*, STOPPED as billing tools read them", async () => {
    await s.ok(["stop", "bp-app"]);
    type Usage = { guid: string; state: { current: string; previous: string | null }; app: { name: string }; buildpack: { name: string | null }; instance_count: { current: number | null }; memory_in_mb_per_instance: { current: number | null } };
    const events = await waitFor(async () => {
      const list = (await s.api<List<Usage>>("/v3/app_usage_events?per_page=100")).body.resources;
      return list.some((e) => e.state.current === "TASK_STOPPED") ? list : undefined;
    }, { timeoutMs: 30_000, what: "the task's TASK_STOPPED event" });
    const states = events.filter((e) => e.app.name === "bp-app").map((e) => e.state.current);
    expect(states).toContain("BUILDPACK_SET");
    expect(states).toContain("TASK_STARTED");
    expect(states.indexOf("STARTED")).toBeLessThan(states.lastIndexOf("STOPPED"));
    expect(events.find((e) => e.state.current === "BUILDPACK_SET")?.buildpack.name).toBe("platform-bp");
    const started = events.find((e) => e.state.current === "STARTED")!;
    expect(started.instance_count.current).toBe(1);
    expect(started.memory_in_mb_per_instance.current).toBeGreaterThan(0);
    // after_guid: a consumer's bookmark.
    const after = (await s.api<List<Usage>>(`/v3/app_usage_events?after_guid=${events[0]!.guid}&per_page=100`)).body.resources;
    expect(after.map((e) => e.guid)).toEqual(events.slice(1).map((e) => e.guid));
    // Purge and reseed: only the started apps remain, as fresh STARTED events (bp-app is stopped now, copy-target not yet there).
    await s.ok(["start", "bp-app"]).catch(() => undefined);
    expect((await s.api("/v3/app_usage_events/actions/destructively_purge_all_and_reseed", { method: "POST" })).status).toBe(200);
    const reseeded = (await s.api<List<Usage>>("/v3/app_usage_events")).body.resources;
    expect(reseeded.map((e) => [e.app.name, e.state.current])).toEqual([["bp-app", "STARTED"]]);
  }, 60_000);

  test("audit_events filters: types, target_guids, space_guids, organization_guids, created_ats", async () => {
    type Ev = { type: string; created_at: string; target: { guid: string } };
    const app = (await s.api<List<{ guid: string }>>("/v3/apps?names=bp-app")).body.resources[0]!;
    const space = (await s.api<List<{ guid: string }>>("/v3/spaces?names=dev")).body.resources[0]!;
    const org = (await s.api<List<{ guid: string }>>("/v3/organizations?names=eirini")).body.resources[0]!;
    const all = (await s.api<List<Ev>>(`/v3/audit_events?target_guids=${app.guid}&per_page=200`)).body.resources;
    expect(all.length).toBeGreaterThan(3);
    expect(all.every((e) => e.target.guid === app.guid)).toBe(true);
    const starts = (await s.api<List<Ev>>(`/v3/audit_events?types=audit.app.stop&space_guids=${space.guid}&organization_guids=${org.guid}`)).body.resources;
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((e) => e.type === "audit.app.stop")).toBe(true);
    const first = all[0]!.created_at;
    const later = (await s.api<List<Ev>>(`/v3/audit_events?target_guids=${app.guid}&created_ats[gt]=${first}&per_page=200`)).body.resources;
    expect(later.every((e) => e.created_at > first)).toBe(true);
    expect((await s.api<List<Ev>>(`/v3/audit_events?created_ats[lt]=2000-01-01T00:00:00Z`)).body.resources).toHaveLength(0);
    expect((await s.api(`/v3/audit_events?created_ats[gt]=yesterday`)).status).toBe(400);
  }, 30_000);

  test("cf copy-source copies the package to another app, which stages and runs it", async () => {
    await s.ok(["create-app", "copy-target"]);
    await s.ok(["copy-source", "bp-app", "copy-target"], { timeoutMs: 90_000 });
    await s.ok(["map-route", "copy-target", "apps.localhost", "--hostname", "copy-target"]);
    const got = await waitFor(() => body(`copy-target.apps.localhost:${s.port}`).catch(() => undefined), { timeoutMs: 30_000, what: "copy-target to answer" });
    expect(got.marker).toContain("platform-bp");
  }, 120_000);
});
