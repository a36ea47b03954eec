import { afterAll, beforeAll, expect, test } from "bun:test";
import { startAppliance, type Appliance } from "../../src/cli/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { login } from "../support/api-client.ts";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 4: names and process types are user input; the UI must show
 * them as text, and its CSP must stop any script a tag could carry.
 */
let appliance: Appliance;
const PASSWORD = "xss-password";
// App names may hold no whitespace or slashes, so no attribute: markup alone shows whether names become HTML.
const HOSTILE_APP = `<b>bold<i>app`;
const HOSTILE_TYPE = `<img src=x onerror="window.__pwned=sessionStorage.getItem('eirini.token')">`;

beforeAll(async () => {
  const config = loadConfig({ flags: { port: 0, dataDir: tempDir() } });
  appliance = await startAppliance({ config, logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: PASSWORD } });
  const api = await login(appliance.url, PASSWORD);
  const space = (await api.json("GET", "/v3/spaces?names=dev")).resources[0].guid as string;
  // JSON is YAML, and quotes every hostile character safely.
  const yaml = JSON.stringify({ applications: [{ name: HOSTILE_APP, "no-route": true, processes: [{ type: "web", instances: 1 }, { type: HOSTILE_TYPE, instances: 1 }] }] });
  const res = await fetch(`${appliance.url}/v3/spaces/${space}/actions/apply_manifest`, { method: "POST", headers: { authorization: `bearer ${api.token}`, "content-type": "application/x-yaml" }, body: yaml });
  expect(`${res.status} ${await res.text()}`).toStartWith("202");
});

afterAll(async () => {
  await appliance?.stop();
  cleanupTempDirs();
});

test("/ui carries a strict Content-Security-Policy with no inline script", async () => {
  for (const path of ["/ui/", "/ui/app.js"]) {
    const csp = (await fetch(`${appliance.url}${path}`)).headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
  }
  expect(await (await fetch(`${appliance.url}/ui/`)).text()).not.toMatch(/<script(?![^>]*\bsrc=)/);
});

test.skipIf(!chromiumAvailable())("hostile app names and process types show as text and run no script", async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.addInitScript(() => {
      (window as unknown as { __violations: string[] }).__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => (window as unknown as { __violations: string[] }).__violations.push(e.violatedDirective));
    });
    await page.goto(`${appliance.url}/ui/`);
    await page.waitForSelector("form#login:not([hidden])");
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForSelector("a.app-link");
    expect(await page.textContent("a.app-link")).toBe(HOSTILE_APP);
    await page.click("a.app-link");
    await page.waitForFunction((t) => document.getElementById("instances")?.textContent?.includes(t), HOSTILE_TYPE);
    expect(await page.textContent("#detail-name")).toBe(HOSTILE_APP);
    const result = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: string }).__pwned ?? null,
      images: document.querySelectorAll("img, b, i").length,
      violations: (window as unknown as { __violations: string[] }).__violations,
    }));
    // No element was made from the text, so nothing even tried to run (no CSP violation either).
    expect(result).toEqual({ pwned: null, images: 0, violations: [] });
    expect(dialogs).toEqual([]);
  } finally {
    await browser.close();
  }
}, 30_000);
