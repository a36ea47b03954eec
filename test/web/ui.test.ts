import { afterAll, beforeAll, expect, test } from "bun:test";
import { startAppliance, type Appliance } from "../../src/cli/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

let appliance: Appliance;

beforeAll(async () => {
  const config = loadConfig({ flags: { port: 0, dataDir: tempDir() } });
  appliance = await startAppliance({ config, logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: "ui-password" } });
});

afterAll(async () => {
  await appliance?.stop();
  cleanupTempDirs();
});

test.skipIf(!chromiumAvailable())("web UI: wrong password is refused, right one shows the apps page", async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${appliance.url}/ui/`);
    await page.waitForSelector("form#login:not([hidden])");
    await page.fill('input[name="password"]', "wrong");
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.getElementById("login-error")?.textContent === "Bad credentials");
    await page.fill('input[name="password"]', "ui-password");
    await page.click('button[type="submit"]');
    await page.waitForSelector("section#apps:not([hidden])");
    expect(await page.textContent("#who")).toBe("admin");
    await page.waitForSelector("#no-apps:not([hidden])");
    expect(await page.textContent("#no-apps")).toBe("No apps yet.");
  } finally {
    await browser.close();
  }
});

test.skipIf(!chromiumAvailable())("web UI: logging out revokes the session's token on the server (issue 13)", async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${appliance.url}/ui/`);
    await page.waitForSelector("form#login:not([hidden])");
    await page.fill('input[name="password"]', "ui-password");
    await page.click('button[type="submit"]');
    await page.waitForSelector("section#apps:not([hidden])");
    const token = await page.evaluate(() => sessionStorage.getItem("eirini.token"));
    expect((await fetch(`${appliance.url}/v3/apps`, { headers: { authorization: `bearer ${token}` } })).status).toBe(200);
    await page.click("#logout");
    await page.waitForSelector("form#login:not([hidden])");
    // The revoke is sent as the page logs out; the token stops working once it lands.
    await waitFor(async () => (await fetch(`${appliance.url}/v3/apps`, { headers: { authorization: `bearer ${token}` } })).status === 401, { what: "the token to be revoked" });
  } finally {
    await browser.close();
  }
});
