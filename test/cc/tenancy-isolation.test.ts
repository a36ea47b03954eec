import { afterAll, beforeAll, expect, test } from "bun:test";
import { schedulingFor } from "../../src/opi/kube/scheduling.ts";
import { makeHarness, type Harness } from "./harness.ts";

/** An isolation segment reaches the desired LRP as a placement tag at (re)start, and the kube backend turns it into node selector + toleration. */
let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
  h.token = (await h.login()).access_token;
});
afterAll(() => h.close());

test("a space's segment is the LRP's placement tag from the next start; kube schedules it with a node selector and toleration", async () => {
  const space = h.spaceGuid();
  const org = (await h.json("GET", `/v3/spaces/${space}`)).relationships.organization.data.guid as string;
  const seg = (await h.json("POST", "/v3/isolation_segments", { name: "edge" }, 201)).guid as string;
  await h.json("POST", `/v3/isolation_segments/${seg}/relationships/organizations`, { data: [{ guid: org }] });
  const app = await h.json("POST", "/v3/apps", { name: "segapp", relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } }, 201);
  const pkg = await h.json("POST", "/v3/packages", { type: "docker", data: { image: "example/app:1" }, relationships: { app: { data: { guid: app.guid } } } }, 201);
  const build = await h.json("POST", "/v3/builds", { package: { guid: pkg.guid } }, 201);
  const droplet = (await h.json("GET", `/v3/builds/${build.guid}`)).droplet.guid as string;
  await h.json("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
  await h.json("POST", `/v3/apps/${app.guid}/actions/start`);
  const lrp = () => h.cc.desiredLRPs().find((l) => l.app_guid === app.guid)!;
  expect(lrp().placement_tags).toEqual([]);

  await h.json("PATCH", `/v3/spaces/${space}/relationships/isolation_segment`, { data: { guid: seg } });
  expect(lrp().placement_tags).toEqual([]); // running as it was until restarted, as in CF
  await h.json("POST", `/v3/apps/${app.guid}/actions/restart`);
  const l = lrp();
  expect(l.placement_tags).toEqual(["edge"]);
  const sched = schedulingFor({ guid: l.guid, version: l.version, annotations: l.user_defined_annotations, placementTags: l.placement_tags });
  expect(JSON.stringify(sched)).toContain("placement.cloudfoundry.org/edge");

  // Not entitled: refused, nothing changes.
  const other = (await h.json("POST", "/v3/isolation_segments", { name: "elsewhere" }, 201)).guid as string;
  const res = await h.req("PATCH", `/v3/spaces/${space}/relationships/isolation_segment`, { body: { data: { guid: other } } });
  expect(res.status).toBe(422);
  expect((await h.json("GET", `/v3/spaces/${space}/relationships/isolation_segment`)).data).toEqual({ guid: seg });
});

test("a user sees the shared segment and those entitled to their orgs; org quotas of their orgs only", async () => {
  await h.store.users.create("nobody", "nobody-pw", ["cloud_controller.read", "cloud_controller.write"]);
  const token = (await h.login("nobody", "nobody-pw")).access_token;
  const names = async (path: string) => ((await (await h.req("GET", path, { token })).json()) as { resources: { name: string }[] }).resources.map((r) => r.name).sort();
  expect(await names("/v3/isolation_segments")).toEqual(["shared"]);
  expect(await names("/v3/organization_quotas")).toEqual([]);
  expect((await h.json("GET", "/v3/isolation_segments")).resources.map((r: { name: string }) => r.name).sort()).toEqual(["edge", "elsewhere", "shared"]);
});

