import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { unzipSync } from "fflate";
import { cleanupTempDirs } from "../support/tmp.ts";
import { waitFor } from "../support/poll.ts";
import * as S from "./cli-shapes.ts";
import { BASE, makeHarness, makeZip, sha1, uploadForm, type Harness } from "./harness.ts";

/**
 * The stock cf CLI's `cf push` (v7/v8, actor/v7pushaction/sequence.go and
 * v7action) driven request by request, DESIGN.md section 4, asserting each
 * answer decodes the way the CLI decodes it (test/cc/cli-shapes.ts).
 *
 * A fast harness for the Cloud Controller alone: staging is the harness's
 * FakeStager and the backend is MemoryOpi, so what this file shows is that CC
 * asks for the right things and relays what those stand-ins answer, not that
 * an app stages or runs. That claim is made with the real cf CLI against the
 * compiled appliance (real buildpack staging, real local backend, the app
 * answering through the router): test/cf/push-forms.test.ts "plain push (-p)"
 * and test/cf/smoke.test.ts.
 */
let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

const SERVER = "require('http').createServer((q, s) => s.end('hi')).listen(process.env.PORT)\n";
const PKG = '{"name":"node-hello","scripts":{"start":"node server.js"}}\n';

async function pushOnce(files: Record<string, string>, knownBefore: number) {
  // cf api / cf login
  const root = S.parseAs(S.RootInfo, await (await h.req("GET", "/", { token: null })).json());
  expect(root.links.cloud_controller_v3.href).toBe(`${BASE}/v3`);
  const login = S.parseAs(S.UaaLogin, await (await h.req("GET", `${root.links.login.href}/login`, { token: null })).json());
  expect(login.prompts.username).toEqual(["text", "Username"]);
  const tokens = S.parseAs(S.TokenResponse, await h.login());
  const claims = JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString());
  expect(claims).toMatchObject({ user_name: "admin", client_id: "cf" });
  expect(typeof claims.exp).toBe("number");
  expect(claims.scope).toContain("cloud_controller.admin");
  h.token = tokens.access_token;

  // cf target -o eirini -s dev
  const orgs = S.parseAs(S.Page, await h.json("GET", "/v3/organizations?names=eirini&order_by=name"));
  const org = S.parseAs(S.Org, orgs.resources[0]);
  const spaces = S.parseAs(S.Page, await h.json("GET", `/v3/spaces?names=dev&organization_guids=${org.guid}`));
  const space = S.parseAs(S.Space, spaces.resources[0]);

  // Applying manifest: YAML body, 202 + Location, poll the job (ccv3/manifest.go, job.go)
  const manifest = "applications:\n- name: node-hello\n  default-route: true\n  memory: 256M\n  instances: 1\n";
  const applied = await h.req("POST", `/v3/spaces/${space.guid}/actions/apply_manifest`, { raw: manifest, headers: { "content-type": "application/x-yaml" } });
  expect(applied.status).toBe(202);
  const jobUrl = applied.headers.get("location")!;
  expect(jobUrl).toStartWith(`${BASE}/v3/jobs/`);
  const job = S.parseAs(S.Job, await h.json("GET", jobUrl));
  expect(job.state).toBe("COMPLETE");

  const apps = S.parseAs(S.Page, await h.json("GET", `/v3/apps?names=node-hello&space_guids=${space.guid}`));
  const app = S.parseAs(S.App, apps.resources[0]);

  // Packaging: resource matching, package, upload of the unknown files only
  const resources = Object.entries(files).map(([path, data]) => ({ path, mode: "644", checksum: { value: sha1(data) }, size_in_bytes: data.length }));
  const matches = S.parseAs(S.ResourceMatches, await h.json("POST", "/v3/resource_matches", { resources }, 201));
  expect(matches.resources.length).toBe(knownBefore);
  const known = new Set(matches.resources.map((r) => r.path));
  const pkg = S.parseAs(S.Package, await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app.guid } } } }, 201));
  expect(pkg.state).toBe("AWAITING_UPLOAD");
  const upload = makeZip(Object.fromEntries(Object.entries(files).filter(([p]) => !known.has(p)).map(([p, data]) => [p, { data }])));
  const up = await h.req("POST", `/v3/packages/${pkg.guid}/upload`, { raw: uploadForm(matches.resources, upload) });
  expect(up.status).toBe(200);
  S.parseAs(S.Package, await up.json());
  const ready = S.parseAs(S.Package, await h.json("GET", `/v3/packages/${pkg.guid}`));
  expect(ready.state).toBe("READY");
  // The stored package holds every file: uploaded ones and the ones from the resource cache.
  const stored = unzipSync(new Uint8Array(await (await h.req("GET", `/v3/packages/${pkg.guid}/download`)).arrayBuffer()));
  expect(Object.keys(stored).sort()).toEqual(Object.keys(files).sort());
  for (const [p, data] of Object.entries(files)) expect(new TextDecoder().decode(stored[p])).toBe(data);

  // Staging: build, poll, droplet; staging logs through log-cache
  const build = S.parseAs(S.Build, await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201));
  expect(build.state).toBe("STAGING");
  const staged = await waitFor(async () => {
    const b = S.parseAs(S.Build, await h.json("GET", `/v3/builds/${build.guid}`));
    return b.state === "STAGED" ? b : null;
  }, { what: "build STAGED" });
  const logs = S.parseAs(S.Envelopes, await h.json("GET", `/api/v1/read/${app.guid}?start_time=0&envelope_types=LOG&limit=1000&descending=false`));
  // CC relays the stager's lines through log-cache and its result into the droplet (the stager here is a stand-in).
  const stg = logs.envelopes.batch.filter((e) => e.tags.source_type === "STG").map((e) => Buffer.from(e.log.payload, "base64").toString());
  expect(stg).toEqual(h.logs.lines.filter((l) => l.source_id === app.guid && l.source_type === "STG").map((l) => l.message));
  const droplet = S.parseAs(S.Droplet, await h.json("GET", `/v3/droplets/${staged.droplet!.guid}`));
  expect(droplet.state).toBe("STAGED");
  expect(droplet.buildpacks[0]!.name).toBe(h.stager.lastResult!.buildpack_name);

  // Set droplet, restart, wait for a running instance
  const rel = S.parseAs(S.Relationship, await h.json("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet.guid } }));
  expect(rel.data!.guid).toBe(droplet.guid);
  const restarted = S.parseAs(S.App, await h.json("POST", `/v3/apps/${app.guid}/actions/restart`));
  expect(restarted.state).toBe("STARTED");
  const procs = S.parseAs(S.Page, await h.json("GET", `/v3/apps/${app.guid}/processes`));
  const web = procs.resources.map((p) => S.parseAs(S.Process, p)).find((p) => p.type === "web")!;
  expect(web.memory_in_mb).toBe(256);
  // Stats before the backend has the process: STARTING. After: whatever the backend reports, relayed (MemoryOpi
  // reports every instance RUNNING at once, so this shows the relaying, not a start; test/cf makes that claim).
  const before = (await h.json("GET", `/v3/processes/${web.guid}/stats`)).resources.map((i: unknown) => S.parseAs(S.ProcessInstance, i));
  expect(before.map((i: { state: string }) => i.state)).toEqual(["STARTING"]);
  await h.converge();
  const lrp = h.cc.desiredLRPs().find((l) => l.app_guid === app.guid && l.process_type === "web")!;
  const reported = (await h.opi.getInstances(lrp.process_guid)).map((i) => ({ index: i.index, state: i.state, instance_guid: i.instance_guid }));
  const after = (await h.json("GET", `/v3/processes/${web.guid}/stats`)).resources as { index: number; state: string; instance_guid?: string }[];
  for (const i of after) S.parseAs(S.ProcessInstance, i);
  expect(after.map((i) => ({ index: i.index, state: i.state, instance_guid: i.instance_guid }))).toEqual(reported);

  // The summary cf push prints at the end
  const routes = S.parseAs(S.Page, await h.json("GET", `/v3/routes?app_guids=${app.guid}`));
  const route = S.parseAs(S.Route, routes.resources[0]);
  expect(route.url).toBe("node-hello.apps.localhost");
  S.parseAs(S.Droplet, await h.json("GET", `/v3/apps/${app.guid}/droplets/current`));
  S.parseAs(S.Page, await h.json("GET", `/v3/deployments?app_guids=${app.guid}&status_values=ACTIVE`));
  return { app, web, droplet };
}

describe("cf push, request by request", () => {
  test("first push: every request in the CLI's order, answers decoded as the CLI decodes them, the LRP handed to the backend", async () => {
    const { app, droplet } = await pushOnce({ "server.js": SERVER, "package.json": PKG }, 0);
    const lrps = h.cc.desiredProcesses();
    const web = lrps.find((l) => l.app_guid === app.guid && l.process_type === "web")!;
    expect(web.routes).toEqual({ "cf-router": [{ hostname: "node-hello.apps.localhost", port: 8080 }] });
    expect(web.lifecycle).toEqual({ buildpack_lifecycle: { droplet_guid: droplet.guid, droplet_hash: expect.stringMatching(/^[a-f0-9]{64}$/), start_command: "node server.js" } });
    expect(web.memory_mb).toBe(256);
    expect(h.store.blobs.has(`sha256:${(web.lifecycle as { buildpack_lifecycle: { droplet_hash: string } }).buildpack_lifecycle.droplet_hash}`)).toBe(true);
    expect(JSON.parse(web.environment.VCAP_APPLICATION!)).toMatchObject({ application_name: "node-hello", application_uris: ["node-hello.apps.localhost"], space_name: "dev", organization_name: "eirini" });
    // The worker process type from the droplet exists with 0 instances.
    expect(lrps.find((l) => l.app_guid === app.guid && l.process_type === "worker")!.instances).toBe(0);
  });

  test("second push reuses known files from the resource cache and uploads only the changed one", async () => {
    const first = h.cc.desiredProcesses().find((l) => l.process_type === "web")!;
    const { app } = await pushOnce({ "server.js": SERVER.replace("hi", "hello"), "package.json": PKG }, 1);
    const web = h.cc.desiredProcesses().find((l) => l.app_guid === app.guid && l.process_type === "web")!;
    expect(web.version).not.toBe(first.version);
    expect(h.stager.requests.length).toBe(2);
    const events = (await h.json("GET", `/v3/audit_events?target_guids=${app.guid}&order_by=-created_at&per_page=200`)).resources.map((e: unknown) => S.parseAs(S.Event, e).type);
    for (const t of ["audit.app.create", "audit.app.apply_manifest", "audit.app.package.create", "audit.app.upload-bits", "audit.app.build.create", "audit.app.droplet.create", "audit.app.droplet.mapped", "audit.app.restart", "audit.app.map-route"]) {
      expect(events).toContain(t);
    }
  });
});
