import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanupTempDirs } from "../support/tmp.ts";
import { waitFor } from "../support/poll.ts";
import { makeHarness, makeZip, uploadForm, type Harness } from "./harness.ts";

/** The desired-state source the Sink consumes (src/sink/source.ts) and the version/stamp rules. */
let h: Harness;
let appGuid: string;

beforeAll(async () => {
  h = await makeHarness();
  const space = h.spaceGuid();
  await h.req("POST", `/v3/spaces/${space}/actions/apply_manifest`, { raw: "applications:\n- name: svc\n  default-route: true\n  health-check-type: http\n  health-check-http-endpoint: /health\n  timeout: 30\n", headers: { "content-type": "application/x-yaml" } });
  appGuid = (await h.json("GET", `/v3/apps?names=svc&space_guids=${space}`)).resources[0].guid;
  const pkg = await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: appGuid } } } }, 201);
  await h.req("POST", `/v3/packages/${pkg.guid}/upload`, { raw: uploadForm([], makeZip({ "a.js": { data: "a" } })) });
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  const droplet = await waitFor(async () => (await h.json("GET", `/v3/builds/${build.guid}`)).droplet?.guid as string | undefined);
  await h.json("PATCH", `/v3/apps/${appGuid}/relationships/current_droplet`, { data: { guid: droplet } });
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

test("a stopped app is not desired; start makes its processes desired with the manifest's health check", async () => {
  expect(h.cc.desiredLRPs()).toEqual([]);
  const keys: (string[] | undefined)[] = [];
  const off = h.cc.onChange((k) => keys.push(k));
  await h.json("POST", `/v3/apps/${appGuid}/actions/start`);
  const web = h.cc.desiredLRPs().find((l) => l.process_type === "web")!;
  expect(web).toMatchObject({ guid: appGuid, process_guid: `${appGuid}-${web.version}`, health_check_type: "http", health_check_http_endpoint: "/health", start_timeout_ms: 30_000, ports: [8080], instances: 1 });
  expect(h.cc.desiredLRP(web.process_guid)).toEqual(web);
  // First change for an app missing from the last full listing: it had no LRPs, so the new ones are the keys (no full pass).
  const worker = h.cc.desiredLRPs().find((l) => l.process_type === "worker")!;
  expect(keys).toHaveLength(1);
  expect(keys[0]?.sort()).toEqual([web.process_guid, worker.process_guid].sort());
  off();
});

test("until a full listing covers every change, an app the source never announced asks for a full pass", async () => {
  // No key listener during this change: the announced versions may now be stale.
  await h.req("POST", `/v3/spaces/${h.spaceGuid()}/actions/apply_manifest`, { raw: "applications:\n- name: other\n", headers: { "content-type": "application/x-yaml" } });
  const other = (await h.json("GET", "/v3/apps?names=other")).resources[0].guid as string;
  const keys: (string[] | undefined)[] = [];
  const off = h.cc.onChange((k) => keys.push(k));
  await h.json("PATCH", `/v3/apps/${other}/environment_variables`, { var: { A: "1" } });
  expect(keys).toEqual([undefined]);
  h.cc.desiredLRPs();
  await h.json("PATCH", `/v3/apps/${other}/environment_variables`, { var: { A: "2" } });
  expect(keys).toEqual([undefined, []]);
  off();
});

test("a command change makes a new version; the nudge names both the old and the new LRP", async () => {
  const old = h.cc.desiredLRPs().find((l) => l.process_type === "web")!;
  const keys: (string[] | undefined)[] = [];
  const off = h.cc.onChange((k) => keys.push(k));
  await h.json("PATCH", `/v3/processes/${appGuid}`, { command: "node other.js" });
  off();
  const now = h.cc.desiredLRPs().find((l) => l.process_type === "web")!;
  expect(now.version).not.toBe(old.version);
  expect((now.lifecycle as { buildpack_lifecycle: { start_command: string } }).buildpack_lifecycle.start_command).toBe("node other.js");
  // Old and new web LRPs (plus the app's worker process, which did not change).
  expect(keys.at(-1)).toEqual(expect.arrayContaining([old.process_guid, now.process_guid]));
  expect(keys.at(-1)).toHaveLength(3);
  expect(h.cc.desiredLRP(old.process_guid)).toBeNull();
});

test("onDesiredChange fires after commit with the app guid", async () => {
  const seen: string[] = [];
  const off = h.cc.onDesiredChange((c) => {
    // Already committed: the listener sees the new state.
    expect(h.cc.desiredProcesses().find((l) => l.process_type === "web")!.instances).toBe(2);
    seen.push(c.app_guid);
  });
  await h.json("POST", `/v3/processes/${appGuid}/actions/scale`, { instances: 2 }, 202);
  off();
  expect(seen).toEqual([appGuid]);
});

test("a build left STAGING by a crash is failed at the next start", async () => {
  h.stager.hold = true;
  const pkg = (await h.json("GET", `/v3/packages?app_guids=${appGuid}`)).resources[0];
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  expect(build.state).toBe("STAGING");
  await h.cc.start?.();
  const after = await h.json("GET", `/v3/builds/${build.guid}`);
  expect(after.state).toBe("FAILED");
  expect(after.error).toMatch(/interrupted/);
  h.stager.hold = false;
  h.stager.release();
  await h.cc.stagingIdle();
  expect((await h.json("GET", `/v3/builds/${build.guid}`)).state).toBe("FAILED");
});

test("desiredStamps (the Sink's lean full pass) lists exactly desiredLRPs' processes and stamps", async () => {
  const byGuid = (a: { process_guid: string }, b: { process_guid: string }) => a.process_guid.localeCompare(b.process_guid);
  const lean = () => h.cc.desiredLRPs().map((l) => ({ process_guid: l.process_guid, app_guid: l.app_guid, last_updated: l.last_updated })).sort(byGuid);
  const stamps = () => h.cc.desiredStamps().sort(byGuid);
  // The stopped app "other" is in neither; scale moves the process stamp, env the app stamp.
  expect(stamps()).toEqual(lean());
  await h.json("POST", `/v3/processes/${appGuid}/actions/scale`, { instances: 3 }, 202);
  expect(stamps()).toEqual(lean());
  await h.json("PATCH", `/v3/apps/${appGuid}/environment_variables`, { var: { B: "1" } });
  expect(stamps()).toEqual(lean());
  expect(h.cc.desiredStamps().length).toBe(2);
  await h.json("POST", `/v3/apps/${appGuid}/actions/stop`);
  expect(h.cc.desiredStamps()).toEqual([]);
  await h.json("POST", `/v3/apps/${appGuid}/actions/start`);
  expect(stamps()).toEqual(lean());
});
