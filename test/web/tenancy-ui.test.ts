import { afterAll, beforeAll, expect, test } from "bun:test";
import { startAppliance, type Appliance } from "../../src/cli/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/** The web UI switches between the orgs and spaces a user may see, and shows their role there. */
let appliance: Appliance;
let adminToken = "";
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${appliance.url}${path}`, { method, headers: { authorization: `bearer ${adminToken}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await res.json()) as any;
};

beforeAll(async () => {
  appliance = await startAppliance({ config: loadConfig({ flags: { port: 0, dataDir: tempDir() } }), logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: "ui-password" } });
  const tok = await fetch(`${appliance.url}/uaa/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` }, body: new URLSearchParams({ grant_type: "password", username: "admin", password: "ui-password" }) });
  adminToken = ((await tok.json()) as { access_token: string }).access_token;
  const org = await api("POST", "/v3/organizations", { name: "team" });
  const web = await api("POST", "/v3/spaces", { name: "web", relationships: { organization: { data: { guid: org.guid } } } });
  await api("POST", "/v3/spaces", { name: "hidden", relationships: { organization: { data: { guid: org.guid } } } });
  await api("POST", "/v3/apps", { name: "web-app", relationships: { space: { data: { guid: web.guid } } } });
  await api("POST", "/uaa/Users", { userName: "dev", password: "dev-password" });
  await api("POST", "/v3/roles", { type: "organization_user", relationships: { user: { data: { username: "dev" } }, organization: { data: { guid: org.guid } } } });
  await api("POST", "/v3/roles", { type: "space_developer", relationships: { user: { data: { username: "dev" } }, space: { data: { guid: web.guid } } } });
}, 30_000);
afterAll(async () => {
  await appliance?.stop();
  cleanupTempDirs();
});

test.skipIf(!chromiumAvailable())("web UI: a developer sees only their space and their role; the admin switches between all", async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${appliance.url}/ui/`);
    await page.waitForSelector("form#login:not([hidden])");
    await page.fill('input[name="username"]', "dev");
    await page.fill('input[name="password"]', "dev-password");
    await page.click('button[type="submit"]');
    await page.waitForSelector('#app-rows tr[data-app="web-app"]');
    expect(await page.$$eval("#space-select option", (os) => os.map((o) => o.textContent))).toEqual(["team / web"]);
    expect(await page.textContent("#role")).toBe("OrgUser, SpaceDeveloper");
    await page.click("#logout");

    await page.waitForSelector("form#login:not([hidden])");
    await page.fill('input[name="username"]', "admin");
    await page.fill('input[name="password"]', "ui-password");
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.getElementById("role")?.textContent === "Admin");
    expect(await page.$$eval("#space-select option", (os) => os.map((o) => o.textContent))).toEqual(["eirini / dev", "team / hidden", "team / web"]);
    await page.selectOption("#space-select", { label: "team / web" });
    await page.waitForSelector('#app-rows tr[data-app="web-app"]');
    await page.selectOption("#space-select", { label: "team / hidden" });
    await page.waitForSelector("#no-apps:not([hidden])");
    expect(await page.$$("#app-rows tr")).toHaveLength(0);
  } finally {
    await browser.close();
  }
}, 60_000);
