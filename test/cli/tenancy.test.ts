import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startAppliance, type Appliance } from "../../src/cli/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { eiriniCommand } from "../support/appliance-process.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/** The eirini client's orgs and spaces: target -o/-s, orgs, spaces, create-org, create-space, each user seeing only theirs. */
let appliance: Appliance;
const adminHome = tempDir();
const userHome = tempDir();

async function eirini(home: string, args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([...eiriniCommand(), ...args], { env: { ...process.env, HOME: home, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { out, err, code };
}
async function ok(home: string, args: string[], env: Record<string, string> = {}) {
  const r = await eirini(home, args, env);
  if (r.code !== 0) throw new Error(`eirini ${args.join(" ")} exited ${r.code}: ${r.err}${r.out}`);
  return r.out;
}

beforeAll(async () => {
  appliance = await startAppliance({ config: loadConfig({ flags: { port: 0, dataDir: tempDir() } }), logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: "admin-pw" } });
  await ok(adminHome, ["login", "--api", appliance.url], { EIRINI_PASSWORD: "admin-pw" });
}, 30_000);
afterAll(async () => {
  await appliance?.stop();
  cleanupTempDirs();
});

test("an admin creates an org and a space and targets them; orgs and spaces list them", async () => {
  await ok(adminHome, ["create-org", "team"]);
  await ok(adminHome, ["create-space", "-o", "team", "web"]);
  expect(await ok(adminHome, ["target", "-o", "team", "-s", "web"])).toMatch(/org:\s+team\nspace:\s+web/);
  expect(await ok(adminHome, ["orgs"])).toMatch(/eirini\s*\nteam/);
  expect((await ok(adminHome, ["spaces"])).trim()).toBe("name\nweb");
  const bad = await eirini(adminHome, ["target", "-s", "nope"]);
  expect(bad.code).not.toBe(0);
  expect(bad.err).toContain("space nope not found in organization team");
}, 60_000);

test("another user sees only the orgs and spaces they hold a role in", async () => {
  const config = JSON.parse(readFileSync(join(adminHome, ".eirini", "client.json"), "utf8")) as { access_token: string };
  const headers = { authorization: `bearer ${config.access_token}`, "content-type": "application/json" };
  const created = await fetch(`${appliance.url}/uaa/Users`, { method: "POST", headers, body: JSON.stringify({ userName: "dev1", password: "dev1-pw" }) });
  expect(created.status).toBe(201);
  const [web] = ((await (await fetch(`${appliance.url}/v3/spaces?names=web`, { headers })).json()) as { resources: { guid: string; relationships: { organization: { data: { guid: string } } } }[] }).resources;
  const role = (type: string, rel: Record<string, unknown>) => fetch(`${appliance.url}/v3/roles`, { method: "POST", headers, body: JSON.stringify({ type, relationships: { user: { data: { username: "dev1" } }, ...rel } }) });
  expect((await role("organization_user", { organization: { data: { guid: web!.relationships.organization.data.guid } } })).status).toBe(201);
  expect((await role("space_developer", { space: { data: { guid: web!.guid } } })).status).toBe(201);
  await ok(userHome, ["login", "--api", appliance.url, "-u", "dev1", "-o", "team", "-s", "web"], { EIRINI_PASSWORD: "dev1-pw" });
  expect((await ok(userHome, ["orgs"])).trim()).toBe("name\nteam");
  expect((await ok(userHome, ["spaces"])).trim()).toBe("name\nweb");
  const refused = await eirini(userHome, ["create-org", "mine"]);
  expect(refused.code).not.toBe(0);
  expect(refused.err).toContain("not authorized");
  expect(await ok(userHome, ["target"])).toMatch(/user:\s+dev1/);
}, 60_000);
