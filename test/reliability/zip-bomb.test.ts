import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { appWithPackage, login, type Api } from "../support/api-client.ts";
import { startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { memoryOf, watchRss } from "../support/hostile-client.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 2, hostile inputs with the real binary: zip bombs (one huge
 * entry; a thousand small ones) are refused from the central directory, RSS
 * stays flat and the API keeps answering.
 */
const PASSWORD = "zip-bomb-pw";
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

function bomb(path: string, entries: number, mbEach: number): void {
  const script = `import sys,zipfile
with zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED) as z:
  for i in range(int(sys.argv[2])):
    with z.open('z/%d.bin'%i,'w') as f:
      for _ in range(int(sys.argv[3])): f.write(bytes(1<<20))
`;
  const r = Bun.spawnSync(["python3", "-c", script, path, String(entries), String(mbEach)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
}

for (const [label, entries, mbEach] of [["one 900 MB entry of zeros", 1, 900], ["900 entries of 1 MB of zeros", 900, 1]] as const) {
  test(`a zip bomb (${label}) is refused; RSS stays flat; the API answers`, async () => {
    const zip = join(tempDir(), "bomb.zip");
    bomb(zip, entries, mbEach);
    const { pkg } = await appWithPackage(api, `bomb-${entries}`);
    const before = memoryOf(e.proc.pid).rssMb;
    const rss = watchRss(e.proc.pid, 10);
    const curl = Bun.spawn(["curl", "-sS", "-w", "\n%{http_code}", "-H", `Authorization: bearer ${api.token}`, "-F", `bits=@${zip};type=application/zip`, "-F", "resources=[]", `${e.url}/v3/packages/${pkg}/upload`], { stdout: "pipe" });
    const out = (await new Response(curl.stdout).text()).trim().split("\n");
    rss.stop();
    expect(out.at(-1)).toBe("422");
    expect(out[0]).toContain("inflates more than 200 times");
    expect(rss.max() - before).toBeLessThan(64);
    expect((await api.call("GET", "/v3/apps")).status).toBe(200);
  }, 60_000);
}
