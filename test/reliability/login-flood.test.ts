import { afterAll, beforeAll, expect, test } from "bun:test";
import { startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { requestFrom, watchRss } from "../support/hostile-client.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 5, with the real binary: 50 concurrent bad logins (each an
 * password check) from one client keep RSS under 250 MB, and another
 * client's valid login is served in its turn, not after the flood.
 */
const PASSWORD = "login-flood-pw";
const FORM = { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` };
let e: RunningEirini;
beforeAll(async () => {
  e = await startEirini(["--port", "0", "--data-dir", tempDir()], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: PASSWORD }, 60_000);
  await waitFor(async () => (await fetch(`${e.url}/readyz`)).ok, { what: "readyz" });
}, 120_000);
afterAll(async () => {
  await e?.stop();
  cleanupTempDirs();
});

const login = (from: string, username: string, password: string) =>
  requestFrom(from, e.url, "POST", "/uaa/oauth/token", FORM, new URLSearchParams({ grant_type: "password", username, password }).toString());

test("50 concurrent bad logins: RSS < 250 MB, a valid login from another client is not stuck behind them", async () => {
  const rss = watchRss(e.proc.pid, 10);
  let floodDone = 0;
  const flood = Array.from({ length: 50 }, (_, i) => login("127.0.0.1", `nobody-${i}`, "wrong").then((r) => (floodDone++, r.status)));
  // Let the flood reach the server first.
  await waitFor(() => true);
  const t0 = performance.now();
  const valid = await login("127.0.0.2", "admin", PASSWORD);
  const validMs = performance.now() - t0;
  const doneWhenValid = floodDone;
  const statuses = await Promise.all(flood);
  rss.stop();
  expect(valid.status).toBe(200);
  expect(JSON.parse(valid.body).access_token).toBeString();
  // Every flood request was refused: a wrong password (401) or too many at once from that client (429).
  expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  // The valid login went in its turn: most of the flood was still waiting or refused when it was served.
  expect(doneWhenValid).toBeLessThan(50);
  expect(rss.max()).toBeLessThan(250);
  console.log(`valid login during a 50-login flood: ${validMs.toFixed(0)} ms; peak RSS ${rss.max().toFixed(0)} MB; flood ${statuses.filter((s) => s === 429).length} x 429`);
}, 120_000);

test("30 wrong passwords, then the right one: the user is locked (UAA's policy), the right password refused", async () => {
  for (let i = 0; i < 30; i++) expect((await login("127.0.0.3", "admin", `wrong-${i}`)).status).toBe(401);
  const r = await login("127.0.0.3", "admin", PASSWORD);
  expect(r.status).toBe(401);
  expect(JSON.parse(r.body).error_description).toMatch(/locked/);
}, 60_000);
