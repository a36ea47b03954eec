import { afterAll, beforeAll, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { appWithPackage, login, writeRandomZip, type Api } from "../support/api-client.ts";
import { startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { memoryOf, watchRss } from "../support/hostile-client.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 2, with the real binary: a package upload streams (peak RSS
 * growth at most N + 64 MB for N MB, in practice far less) and the API keeps
 * answering while it is received and checked.
 */
const PASSWORD = "upload-memory-pw";
const MB = 64;
let e: RunningEirini;
let api: Api;
beforeAll(async () => {
  e = await startEirini(["--port", "0", "--data-dir", tempDir()], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: PASSWORD }, 60_000);
  await waitFor(async () => (await fetch(`${e.url}/readyz`)).ok, { what: "readyz" });
  api = await login(e.url, PASSWORD);
}, 120_000);
afterAll(async () => {
  await e?.stop();
  cleanupTempDirs();
});

test(`a ${MB} MB upload stays within N + 64 MB of RSS and the API answers during it`, async () => {
  const zip = join(tempDir(), "big.zip");
  writeRandomZip(zip, MB);
  const { pkg } = await appWithPackage(api, "big-upload");
  const baseline = memoryOf(e.proc.pid).rssMb;
  const rss = watchRss(e.proc.pid, 10);
  // curl streams the file from disk, as the cf CLI does.
  const curl = Bun.spawn(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: bearer ${api.token}`, "-F", `bits=@${zip};type=application/zip`, "-F", "resources=[]", `${e.url}/v3/packages/${pkg}/upload`], { stdout: "pipe", stderr: "pipe" });
  let answered = 0;
  while (curl.exitCode === null) {
    const r = await api.call("GET", "/v3/apps");
    if (r.status === 200) answered++;
    await r.arrayBuffer();
  }
  const status = await new Response(curl.stdout).text();
  rss.stop();
  expect(status).toBe("200");
  expect((await api.json("GET", `/v3/packages/${pkg}`)).state).toBe("READY");
  expect(answered).toBeGreaterThan(0);
  const growth = rss.max() - baseline;
  expect(growth).toBeLessThan(statSync(zip).size / 1024 ** 2 + 64);
  console.log(`upload of ${MB} MB: RSS ${baseline.toFixed(0)} -> peak ${rss.max().toFixed(0)} MB; ${answered} API answers during it`);
}, 120_000);
