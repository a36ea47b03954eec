import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanupTempDirs } from "../support/tmp.ts";
import { makeHarness, type Harness } from "./harness.ts";

/** Issue 13, item 7: hostile values the API used to store as given. */
let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

const apply = (doc: unknown) =>
  h.req("POST", `/v3/spaces/${h.spaceGuid()}/actions/apply_manifest`, { raw: JSON.stringify(doc), headers: { "content-type": "application/x-yaml" } });
async function refused(pending: Response | Promise<Response>, detail: RegExp) {
  const res = await pending;
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith("422 ");
  expect(JSON.parse(text).errors[0].detail).toMatch(detail);
}

describe("manifest bounds", () => {
  test("memory 99999999999999999999T is refused, not stored as 1e26", () => refused(apply({ applications: [{ name: "big", memory: "99999999999999999999T" }] }), /Memory must be less than or equal to 1048576MB/));
  test("disk 2T is refused", () => refused(apply({ applications: [{ name: "big", disk_quota: "2T" }] }), /Disk quota must be less than or equal/));
  test("a command over 4096 characters is refused (manifest and API)", async () => {
    await refused(apply({ applications: [{ name: "long", command: "x".repeat(4097) }] }), /Command must be between 1 and 4096 characters/);
    const app = await h.json("POST", "/v3/apps", { name: "cmd", relationships: { space: { data: { guid: h.spaceGuid() } } } }, 201);
    const web = (await h.json("GET", `/v3/apps/${app.guid}/processes`)).resources[0];
    await refused(await h.req("PATCH", `/v3/processes/${web.guid}`, { body: { command: "y".repeat(5000) } }), /4096/);
    expect((await h.req("PATCH", `/v3/processes/${web.guid}`, { body: { command: "z".repeat(4096) } })).status).toBe(200);
  });
});

describe("app names", () => {
  const create = (name: string) => h.req("POST", "/v3/apps", { body: { name, relationships: { space: { data: { guid: h.spaceGuid() } } } } });
  test("a right-to-left override (U+202E) is refused, naming the rule", () => refused(create("invoice\u202Etxt.exe"), /bidirectional.*U\+202E/));
  test("zero-width characters are refused", async () => {
    for (const ch of ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF"]) await refused(create(`adm${ch}in`), /invisible|whitespace/);
  });
  test("a name over 255 characters is refused as too long", () => refused(create("a".repeat(256)), /too long \(maximum is 255 characters\)/));
  test("255 characters (also non-ASCII ones) are fine", async () => {
    expect((await create("é".repeat(255))).status).toBe(201);
  });
  test("a rename is held to the same rules", async () => {
    const app = await h.json("POST", "/v3/apps", { name: "renamed", relationships: { space: { data: { guid: h.spaceGuid() } } } }, 201);
    await refused(await h.req("PATCH", `/v3/apps/${app.guid}`, { body: { name: "x\u202Ey" } }), /U\+202E/);
  });
});
