import { afterAll, beforeAll, expect, test } from "bun:test";
import { SCHEDULING_KEYS } from "../../src/opi/index.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { makeHarness, type Harness } from "./harness.ts";

/** CF V3 metadata (labels, annotations) and how app/space annotations reach the desired LRPs. */
let h: Harness;
let space: string;

/** A started docker app (its droplet is STAGED at once, no stager involved). */
async function startedApp(name: string, spaceGuid = space): Promise<string> {
  const app = await h.json("POST", "/v3/apps", { name, relationships: { space: { data: { guid: spaceGuid } } }, lifecycle: { type: "docker", data: {} } }, 201);
  const pkg = await h.json("POST", "/v3/packages", { type: "docker", data: { image: "example/app:1" }, relationships: { app: { data: { guid: app.guid } } } }, 201);
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  const droplet = (await h.json("GET", `/v3/builds/${build.guid}`)).droplet.guid as string;
  await h.json("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
  await h.json("POST", `/v3/apps/${app.guid}/actions/start`);
  return app.guid as string;
}

const lrpOf = (appGuid: string) => h.cc.desiredLRPs().find((l) => l.app_guid === appGuid && l.process_type === "web")!;

async function expect422(method: string, path: string, body: unknown, mentions: string): Promise<void> {
  const res = await h.req(method, path, { body });
  const err = (await res.json()) as { errors: { title: string; detail: string }[] };
  expect(res.status).toBe(422);
  expect(err.errors[0]!.title).toBe("CF-UnprocessableEntity");
  expect(err.errors[0]!.detail).toContain(mentions);
}

beforeAll(async () => {
  h = await makeHarness();
  space = h.spaceGuid();
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

test("app metadata: PATCH merges key by key, null deletes, rendered on GET and in lists", async () => {
  const guid = (await h.json("POST", "/v3/apps", { name: "meta", relationships: { space: { data: { guid: space } } }, metadata: { labels: { env: "dev" } } }, 201)).guid;
  expect((await h.json("GET", `/v3/apps/${guid}`)).metadata).toEqual({ labels: { env: "dev" }, annotations: {} });
  const patched = await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { labels: { "example.com/tier": "web", team: "" }, annotations: { contact: "ops@example.com\nsecond line" } } });
  expect(patched.metadata).toEqual({ labels: { env: "dev", "example.com/tier": "web", team: "" }, annotations: { contact: "ops@example.com\nsecond line" } });
  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { labels: { env: null, missing: null }, annotations: { contact: "someone" } } });
  const got = await h.json("GET", `/v3/apps/${guid}`);
  expect(got.metadata).toEqual({ labels: { "example.com/tier": "web", team: "" }, annotations: { contact: "someone" } });
  const listed = (await h.json("GET", `/v3/apps?names=meta`)).resources[0];
  expect(listed.metadata).toEqual(got.metadata);
});

test("invalid keys and values are a 422 naming the key, and change nothing", async () => {
  const guid = (await h.json("POST", "/v3/apps", { name: "strict", relationships: { space: { data: { guid: space } } }, metadata: { labels: { keep: "me" } } }, 201)).guid;
  const before = await h.json("GET", `/v3/apps/${guid}`);
  const path = `/v3/apps/${guid}`;
  const meta = (m: unknown) => ({ name: "renamed", metadata: m });
  await expect422("PATCH", path, meta({ labels: { ok: "1", "bad key": "x" } }), "'bad key' contains invalid characters");
  await expect422("PATCH", path, meta({ labels: { "-dash": "x" } }), "'-dash' starts or ends with invalid characters");
  await expect422("PATCH", path, meta({ labels: { ["k".repeat(64)]: "x" } }), "is greater than 63 characters");
  await expect422("PATCH", path, meta({ labels: { "a/b/c": "x" } }), "more than one '/'");
  await expect422("PATCH", path, meta({ labels: { "Not_DNS!/name": "x" } }), "prefix 'Not_DNS!' must be in valid dns format");
  await expect422("PATCH", path, meta({ labels: { [`${"a".repeat(254)}/name`]: "x" } }), "is greater than 253 characters");
  await expect422("PATCH", path, meta({ labels: { "cloudfoundry.org/x": "y" } }), "prefix 'cloudfoundry.org' is reserved");
  await expect422("PATCH", path, meta({ labels: { tier: "web app" } }), "'tier'");
  await expect422("PATCH", path, meta({ labels: { tier: "v".repeat(64) } }), "'tier'");
  await expect422("PATCH", path, meta({ annotations: { "": "x" } }), "key cannot be empty string");
  await expect422("PATCH", path, meta({ annotations: { notes: "n".repeat(5001) } }), "'notes' is greater than 5000 characters");
  await expect422("PATCH", path, meta({ annotations: { [SCHEDULING_KEYS.tolerations]: "a=b:Sometimes" } }), SCHEDULING_KEYS.tolerations);
  await expect422("PATCH", path, meta({ annotations: { [SCHEDULING_KEYS.nodeSelector]: "no-equals-sign" } }), SCHEDULING_KEYS.nodeSelector);
  await expect422("PATCH", path, meta({ annotations: { [SCHEDULING_KEYS.affinity]: "sometimes" } }), SCHEDULING_KEYS.affinity);
  await expect422("PATCH", path, meta({ annotations: { [SCHEDULING_KEYS.schedulerName]: "Not A Name" } }), SCHEDULING_KEYS.schedulerName);
  await expect422("PATCH", path, meta({ annotations: { "scheduling.eirini.cloudfoundry.org/nodeselector": "a=b" } }), "unknown scheduling annotation");
  await expect422("PATCH", path, meta({ annotations: { [SCHEDULING_KEYS.placementTags]: "ok,not ok" } }), SCHEDULING_KEYS.placementTags);
  await expect422("PATCH", `/v3/spaces/${space}`, { metadata: { annotations: { [SCHEDULING_KEYS.tolerations]: "=x" } } }, SCHEDULING_KEYS.tolerations);
  const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`l${i}`, "v"]));
  await expect422("PATCH", path, meta({ labels: tooMany }), "maximum of 50");
  const after = await h.json("GET", `/v3/apps/${guid}`);
  expect(after).toEqual(before);
  expect(after.name).toBe("strict");
  // Scheduling keys only need valid values; a value for a known key is accepted.
  const ok = await h.json("PATCH", path, { metadata: { annotations: { [SCHEDULING_KEYS.tolerations]: "dedicated=cf:NoSchedule,gpu" } } });
  expect(ok.metadata.annotations[SCHEDULING_KEYS.tolerations]).toBe("dedicated=cf:NoSchedule,gpu");
});

test("space, org, process and route metadata; a space PATCH takes metadata and a name only", async () => {
  const s = await h.json("PATCH", `/v3/spaces/${space}`, { metadata: { labels: { env: "prod" }, annotations: { owner: "team-a" } } });
  expect(s.metadata).toEqual({ labels: { env: "prod" }, annotations: { owner: "team-a" } });
  expect((await h.json("GET", `/v3/spaces/${space}`)).metadata.labels).toEqual({ env: "prod" });
  expect((await h.json("GET", `/v3/spaces?label_selector=env=prod`)).resources.map((x: { guid: string }) => x.guid)).toEqual([space]);
  await expect422("PATCH", `/v3/spaces/${space}`, { nmae: "renamed" }, "Unknown field(s): 'nmae'");
  await h.json("PATCH", `/v3/spaces/${space}`, { metadata: { labels: { env: null }, annotations: { owner: null } } });

  const org = (await h.json("GET", "/v3/organizations")).resources[0].guid;
  expect((await h.json("PATCH", `/v3/organizations/${org}`, { metadata: { labels: { cost: "c1" } } })).metadata.labels).toEqual({ cost: "c1" });
  const app = (await h.json("POST", "/v3/apps", { name: "proc-meta", relationships: { space: { data: { guid: space } } } }, 201)).guid;
  expect((await h.json("PATCH", `/v3/processes/${app}`, { metadata: { annotations: { note: "x" } } })).metadata.annotations).toEqual({ note: "x" });
  expect((await h.json("GET", `/v3/apps/${app}/processes/web`)).metadata.annotations).toEqual({ note: "x" });
  const domain = (await h.json("GET", "/v3/domains")).resources[0].guid;
  const route = await h.json("POST", "/v3/routes", { host: "meta", relationships: { space: { data: { guid: space } }, domain: { data: { guid: domain } } }, metadata: { labels: { a: "1" } } }, 201);
  expect(route.metadata.labels).toEqual({ a: "1" });
  expect((await h.json("PATCH", `/v3/routes/${route.guid}`, { metadata: { labels: { a: null, b: "2" } } })).metadata.labels).toEqual({ b: "2" });
});

test("label_selector on /v3/apps: =, !=, in, notin, exists, !exists; malformed is a 400", async () => {
  const mk = async (name: string, labels: Record<string, string>) =>
    (await h.json("POST", "/v3/apps", { name, relationships: { space: { data: { guid: space } } }, metadata: { labels } }, 201)).guid as string;
  const a = await mk("sel-a", { sel: "yes", tier: "web" });
  const b = await mk("sel-b", { sel: "yes", tier: "api" });
  const c = await mk("sel-c", { sel: "yes" });
  const names = async (q: string) => ((await h.json("GET", `/v3/apps?label_selector=${encodeURIComponent(q)}&order_by=name`)).resources as { guid: string }[]).map((x) => x.guid);
  expect(await names("sel=yes,tier=web")).toEqual([a]);
  expect(await names("sel,tier!=web")).toEqual([b, c]);
  expect(await names("sel==yes,tier in (web,api)")).toEqual([a, b]);
  expect(await names("sel,tier notin (web)")).toEqual([b, c]);
  expect(await names("sel,!tier")).toEqual([c]);
  expect(await names("sel,tier")).toEqual([a, b]);
  const bad = await h.req("GET", `/v3/apps?label_selector=${encodeURIComponent("tier in (web")}`);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { errors: { title: string }[] }).errors[0]!.title).toBe("CF-BadQueryParameter");
});

test("desired LRPs carry space annotations overlaid by the app's; scheduling annotation changes make new versions, labels and other annotations do not", async () => {
  const guid = await startedApp("sched");
  const v0 = lrpOf(guid);
  expect(v0.user_defined_annotations).toEqual({});

  const keys: (string[] | undefined)[] = [];
  const off = h.cc.onChange((k) => keys.push(k));
  await h.json("PATCH", `/v3/spaces/${space}`, { metadata: { annotations: { [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd", [SCHEDULING_KEYS.schedulerName]: "space-scheduler" } } });
  const v1 = lrpOf(guid);
  expect(v1.user_defined_annotations).toEqual({ [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd", [SCHEDULING_KEYS.schedulerName]: "space-scheduler" });
  expect(v1.version).not.toBe(v0.version);
  // Every app of the space is re-converged; this one's old and new LRPs are named.
  expect(keys.flat()).toEqual(expect.arrayContaining([v0.process_guid, v1.process_guid]));
  keys.length = 0;

  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { annotations: { [SCHEDULING_KEYS.schedulerName]: "app-scheduler", [SCHEDULING_KEYS.tolerations]: "gpu:NoSchedule" } } });
  const v2 = lrpOf(guid);
  expect(v2.user_defined_annotations).toEqual({
    [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd",
    [SCHEDULING_KEYS.schedulerName]: "app-scheduler",
    [SCHEDULING_KEYS.tolerations]: "gpu:NoSchedule",
  });
  expect(v2.version).not.toBe(v1.version);
  expect(keys).toEqual([expect.arrayContaining([v1.process_guid, v2.process_guid])]);

  // The app overrides the space's scheduler: changing the space's value changes nothing the app runs with.
  const before = keys.length;
  await h.json("PATCH", `/v3/spaces/${space}`, { metadata: { annotations: { [SCHEDULING_KEYS.schedulerName]: "other" } } });
  expect(lrpOf(guid).version).toBe(v2.version);
  // Labels and identical values do not restart anything.
  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { labels: { tier: "web" }, annotations: { [SCHEDULING_KEYS.tolerations]: "gpu:NoSchedule" } } });
  expect(lrpOf(guid).version).toBe(v2.version);
  // Other annotations ride along but never restart the app, as in CF.
  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { annotations: { "owner.example.com/team": "payments" } } });
  expect(lrpOf(guid).version).toBe(v2.version);
  // At most an in-place re-check of the same LRP (the app's updated_at moved), never a replacement.
  expect(keys.slice(before).flat().filter((k) => k !== v2.process_guid)).toEqual([]);

  // null on the app reveals the space's value again.
  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { annotations: { [SCHEDULING_KEYS.schedulerName]: null } } });
  expect(lrpOf(guid).user_defined_annotations[SCHEDULING_KEYS.schedulerName]).toBe("other");
  expect(lrpOf(guid).version).not.toBe(v2.version);
  off();

  // The placement-tags annotation becomes the LRP's placement tags (both backends honour those).
  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { annotations: { [SCHEDULING_KEYS.placementTags]: "gpu, eu-segment,gpu" } } });
  expect(lrpOf(guid).placement_tags).toEqual(["gpu", "eu-segment"]);
  await h.json("PATCH", `/v3/apps/${guid}`, { metadata: { annotations: { [SCHEDULING_KEYS.placementTags]: null } } });
  const v3 = lrpOf(guid);
  expect(v3.placement_tags).toEqual([]);

  // The Sink's lean listing agrees with the full one after all this.
  const byGuid = (x: { process_guid: string }, y: { process_guid: string }) => x.process_guid.localeCompare(y.process_guid);
  expect(h.cc.desiredStamps().map((s) => ({ process_guid: s.process_guid, last_updated: s.last_updated })).sort(byGuid)).toEqual(
    h.cc.desiredLRPs().map((l) => ({ process_guid: l.process_guid, last_updated: l.last_updated })).sort(byGuid),
  );
  // The memory OPI (standing in for a backend) gets the new LRP with the annotations.
  await h.converge();
  expect((await h.opi.getLRP(v3.process_guid))?.user_defined_annotations[SCHEDULING_KEYS.nodeSelector]).toBe("disktype=ssd");
  await h.json("PATCH", `/v3/spaces/${space}`, { metadata: { annotations: { [SCHEDULING_KEYS.nodeSelector]: null, [SCHEDULING_KEYS.schedulerName]: null } } });
});

test("manifest metadata merges into the app like a PATCH; an invalid key fails the whole manifest", async () => {
  const apply = (yaml: string) => h.req("POST", `/v3/spaces/${space}/actions/apply_manifest`, { raw: yaml, headers: { "content-type": "application/x-yaml" } });
  expect((await apply("applications:\n- name: from-manifest\n  metadata:\n    labels: {env: qa}\n    annotations:\n      scheduling.eirini.cloudfoundry.org/node-selector: disktype=ssd\n")).status).toBe(202);
  const app = (await h.json("GET", "/v3/apps?names=from-manifest")).resources[0];
  expect(app.metadata).toEqual({ labels: { env: "qa" }, annotations: { [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd" } });
  const bad = await apply("applications:\n- name: from-manifest\n  env: {A: b}\n  metadata:\n    annotations:\n      scheduling.eirini.cloudfoundry.org/tolerations: 'x:Maybe'\n");
  expect(bad.status).toBe(422);
  expect(await bad.text()).toContain(SCHEDULING_KEYS.tolerations);
  const after = await h.json("GET", `/v3/apps/${app.guid}`);
  expect(after.metadata).toEqual(app.metadata);
  expect((await h.json("GET", `/v3/apps/${app.guid}/environment_variables`)).var).toEqual({});
});

