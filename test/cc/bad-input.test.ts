import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs } from "../support/tmp.ts";
import * as S from "./cli-shapes.ts";
import { makeHarness, makeZip, sha1, uploadForm, type Harness } from "./harness.ts";

/** Issue 6 "Bad input", CC side: each gets the CF error the CLI expects and changes nothing. */
let h: Harness;
let appGuid: string;
const LIMIT = 64 * 1024;

beforeAll(async () => {
  h = await makeHarness({ staging: { maxPackageBytes: LIMIT } });
  appGuid = (await h.json("POST", "/v3/apps", { name: "victim", relationships: { space: { data: { guid: h.spaceGuid() } } } }, 201)).guid;
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

const counts = () =>
  Object.fromEntries(
    ["cc_apps", "cc_routes", "cc_destinations", "cc_audit_events", "cc_resource_cache", "cc_processes", "cc_jobs"].map((t) => [t, (h.store.db.query(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]),
  );
const blobCount = () => {
  const root = join(h.store.blobs.root, "sha256");
  return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
};

async function expectCfError(res: Response, status: number, title: string, detail?: RegExp) {
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith(`${status} `);
  const err = S.parseAs(S.CfErrors, JSON.parse(text)).errors[0]!;
  expect(err.title).toBe(title);
  if (detail) expect(err.detail).toMatch(detail);
}

async function newPackage(): Promise<string> {
  return (await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: appGuid } } } }, 201)).guid;
}

describe("package uploads", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["a '..' path", makeZip({ "ok.txt": { data: "x" }, "../evil.sh": { data: "rm -rf" } }), /escapes the app directory/],
    ["a nested '..' path", makeZip({ "a/../../evil": { data: "x" } }), /escapes the app directory/],
    ["an absolute path", makeZip({ "/etc/cron.d/evil": { data: "x" } }), /is absolute/],
    ["a symlink out of the tree", makeZip({ "app/link": { data: "../../etc/passwd", mode: 0o120777 } }), /points outside/],
    ["an absolute symlink", makeZip({ link: { data: "/etc/passwd", mode: 0o120777 } }), /absolute path/],
    ["bytes that are not a zip", new TextEncoder().encode("definitely not a zip file at all, sorry"), /not a zip/],
  ];
  for (const [what, zip, detail] of cases) {
    test(`a zip with ${what} is refused with 422 and stores nothing`, async () => {
      const pkg = await newPackage();
      const before = { rows: counts(), blobs: blobCount() };
      await expectCfError(await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([], zip) }), 422, "CF-UnprocessableEntity", detail);
      expect({ rows: counts(), blobs: blobCount() }).toEqual(before);
      expect((await h.json("GET", `/v3/packages/${pkg}`)).state).toBe("AWAITING_UPLOAD");
    });
  }

  test("a symlink that stays inside the app is kept", async () => {
    const pkg = await newPackage();
    const res = await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([], makeZip({ "lib/real.js": { data: "1" }, "lib/alias.js": { data: "real.js", mode: 0o120777 } })) });
    expect(res.status).toBe(200);
    expect((await res.json()).state).toBe("READY");
  });

  test("an upload past the size limit is a 413 and stores nothing", async () => {
    const pkg = await newPackage();
    const before = { rows: counts(), blobs: blobCount() };
    const big = makeZip({ "big.bin": { data: crypto.getRandomValues(new Uint8Array(LIMIT + 1)) } });
    await expectCfError(await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([], big) }), 413, "CF-RequestEntityTooLarge", /may not be larger/);
    expect({ rows: counts(), blobs: blobCount() }).toEqual(before);
  });

  test("resources the cache does not hold are refused", async () => {
    const pkg = await newPackage();
    const res = await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([{ path: "x.js", mode: "644", checksum: { value: sha1("never uploaded") }, size_in_bytes: 14 }]) });
    await expectCfError(res, 422, "CF-UnprocessableEntity", /not in the resource cache/);
  });

  test("resources with escaping paths are refused even when the content is known", async () => {
    const pkg = await newPackage();
    expect((await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([], makeZip({ "known.js": { data: "known" } })) })).status).toBe(200);
    const pkg2 = await newPackage();
    const res = await h.req("POST", `/v3/packages/${pkg2}/upload`, { raw: uploadForm([{ path: "../known.js", mode: "644", checksum: { value: sha1("known") }, size_in_bytes: 5 }]) });
    await expectCfError(res, 422, "CF-UnprocessableEntity", /escapes/);
  });

  test("a second upload to the same package is refused", async () => {
    const pkg = await newPackage();
    expect((await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([], makeZip({ "a.js": { data: "a" } })) })).status).toBe(200);
    await expectCfError(await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: uploadForm([], makeZip({ "b.js": { data: "b" } })) }), 422, "CF-PackageBitsAlreadyUploaded");
  });
});

describe("manifests (apply_manifest)", () => {
  const apply = (yaml: string, space = h.spaceGuid()) => h.req("POST", `/v3/spaces/${space}/actions/apply_manifest`, { raw: yaml, headers: { "content-type": "application/x-yaml" } });
  const bad: [string, string, number, string, RegExp][] = [
    ["an unknown field", "applications:\n- name: a1\n  colour: blue\n", 422, "CF-UnprocessableEntity", /Unknown field\(s\): 'colour'/],
    ["an unknown top-level field", "applications:\n- name: a1\nextras: 1\n", 422, "CF-UnprocessableEntity", /Unknown field/],
    ["an ill-typed instances", "applications:\n- name: a1\n  instances: three\n", 422, "CF-UnprocessableEntity", /instances/],
    ["an ill-typed env", "applications:\n- name: a1\n  env: [A, B]\n", 422, "CF-UnprocessableEntity", /env/],
    ["a memory without unit", "applications:\n- name: a1\n  memory: 12Q\n", 422, "CF-UnprocessableEntity", /supported unit/],
    ["broken YAML", "applications: [\n- name: : :\n", 400, "CF-MessageParseError", /YAML/],
    ["an app name that is not a route host", "applications:\n- name: my_app!\n  default-route: true\n", 422, "CF-UnprocessableEntity", /default route/],
    ["a route on an unknown domain", "applications:\n- name: a1\n  routes:\n  - route: a1.example.org\n", 422, "CF-UnprocessableEntity", /did not match any existing domains/],
    ["a route host with invalid characters", "applications:\n- name: a1\n  routes:\n  - route: a_b!.apps.localhost\n", 422, "CF-UnprocessableEntity", /Host must/],
    ["services (not offered)", "applications:\n- name: a1\n  services: [db]\n", 422, "CF-UnprocessableEntity", /services are not supported/],
    ["no applications", "applications: []\n", 422, "CF-UnprocessableEntity", /applications/],
  ];
  for (const [what, yaml, status, title, detail] of bad) {
    test(`${what}: ${status} ${title}, nothing created`, async () => {
      const before = counts();
      await expectCfError(await apply(yaml), status, title, detail);
      expect(counts()).toEqual(before);
    });
  }

  test("a second, valid app in the same manifest is not applied when one is bad", async () => {
    const before = counts();
    await expectCfError(await apply("applications:\n- name: fine\n- name: broken\n  instances: -1\n"), 422, "CF-UnprocessableEntity");
    expect(counts()).toEqual(before);
  });

  test("pushing to a space that does not exist: 404 CF-ResourceNotFound", async () => {
    const before = counts();
    await expectCfError(await apply("applications:\n- name: a1\n", "00000000-0000-0000-0000-000000000000"), 404, "CF-ResourceNotFound", /Space not found/);
    expect(counts()).toEqual(before);
  });

  test("an app name with whitespace or slashes is refused", async () => {
    const before = counts();
    await expectCfError(await apply("applications:\n- name: 'a/b'\n  no-route: true\n"), 422, "CF-UnprocessableEntity", /Name must not/);
    expect(counts()).toEqual(before);
  });
});

describe("JSON bodies and queries", () => {
  test("malformed JSON: 400 CF-MessageParseError (code 1001)", async () => {
    const res = await h.req("POST", "/v3/apps", { raw: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0]).toMatchObject({ code: 1001, title: "CF-MessageParseError" });
  });
  test("unknown and ill-typed fields: 422 CF-UnprocessableEntity (code 10008)", async () => {
    const res = await h.req("POST", "/v3/apps", { body: { name: "x", relationships: { space: { data: { guid: h.spaceGuid() } } }, flavour: 1 } });
    expect(res.status).toBe(422);
    expect((await res.json()).errors[0]).toMatchObject({ code: 10008, detail: "Unknown field(s): 'flavour'" });
    await expectCfError(await h.req("POST", "/v3/apps", { body: { name: 5, relationships: {} } }), 422, "CF-UnprocessableEntity");
  });
  test("quota bodies: an unknown field, or relationships on an update (CC applies orgs through .../relationships), is refused, not dropped", async () => {
    const quota = (await h.json("POST", "/v3/organization_quotas", { name: "strict-q" }, 201)).guid;
    const org = (await h.json("GET", "/v3/organizations")).resources[0].guid;
    await expectCfError(await h.req("PATCH", `/v3/organization_quotas/${quota}`, { body: { relationships: { organizations: { data: [{ guid: org }] } } } }), 422, "CF-UnprocessableEntity", /Unknown field\(s\): 'relationships'/);
    expect((await h.json("GET", `/v3/organization_quotas/${quota}`)).relationships.organizations.data).toEqual([]);
    await expectCfError(await h.req("POST", "/v3/organization_quotas", { body: { name: "strict-q2", apps: { total_memory: 5 } } }), 422, "CF-UnprocessableEntity", /Unknown field\(s\): 'total_memory'/);
    await expectCfError(await h.req("PATCH", `/v3/organization_quotas/${quota}`, { body: { routes: { total_route: 5 } } }), 422, "CF-UnprocessableEntity", /Unknown field/);
  });
  test("an app in a space that does not exist is refused", async () => {
    await expectCfError(await h.req("POST", "/v3/apps", { body: { name: "x", relationships: { space: { data: { guid: "nope" } } } } }), 422, "CF-UnprocessableEntity", /Invalid space/);
  });
  test("duplicate app names in a space are refused", async () => {
    await expectCfError(await h.req("POST", "/v3/apps", { body: { name: "victim", relationships: { space: { data: { guid: h.spaceGuid() } } } } }), 422, "CF-UnprocessableEntity", /already exists/);
  });
  test("unknown query parameters and bad paging: 400 CF-BadQueryParameter", async () => {
    await expectCfError(await h.req("GET", "/v3/apps?colour=blue"), 400, "CF-BadQueryParameter", /Unknown query parameter/);
    await expectCfError(await h.req("GET", "/v3/apps?per_page=0"), 400, "CF-BadQueryParameter");
    await expectCfError(await h.req("GET", "/v3/apps?order_by=colour"), 400, "CF-BadQueryParameter");
    await expectCfError(await h.req("GET", "/v3/apps?include=everything"), 400, "CF-BadQueryParameter");
  });
  test("unknown resources: 404 CF-ResourceNotFound (code 10010)", async () => {
    const res = await h.req("GET", "/v3/apps/does-not-exist");
    expect(res.status).toBe(404);
    expect((await res.json()).errors[0]).toEqual({ code: 10010, title: "CF-ResourceNotFound", detail: "App not found" });
  });
  test("starting an app without a droplet is refused", async () => {
    await expectCfError(await h.req("POST", `/v3/apps/${appGuid}/actions/start`), 422, "CF-UnprocessableEntity", /Assign a droplet/);
  });
  test("invalid environment variable names are refused", async () => {
    for (const name of ["1ABC", "A-B", "VCAP_SERVICES", "PORT"]) {
      await expectCfError(await h.req("PATCH", `/v3/apps/${appGuid}/environment_variables`, { body: { var: { [name]: "x" } } }), 422, "CF-UnprocessableEntity");
    }
  });
  test("log-cache rejects a limit over 1000 and unknown envelope types", async () => {
    expect((await h.req("GET", `/api/v1/read/${appGuid}?limit=5000`)).status).toBe(400);
    expect((await h.req("GET", `/api/v1/read/${appGuid}?envelope_types=BOGUS`)).status).toBe(400);
  });
});
