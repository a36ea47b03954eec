import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { buildOutcome, login, pushUntilBuild, smallAppZip, uploadBits, type Api } from "../support/api-client.ts";
import { runEirini, startEirini, type RunningEirini } from "../support/appliance-process.ts";
import { compiledEirini } from "../support/compiled-binary.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * Issue 13, item 8: the kill -9 matrix with the real binary. The appliance is
 * killed during an upload, during a staging, right after a build is created
 * and during a registry upload; the next start on the same data dir is
 * consistent: nothing half-done stays, nothing left runs, and the same work
 * then succeeds.
 */
const PASSWORD = "kill9-pw";
const dataDir = tempDir();
let e: RunningEirini;
let api: Api;
const BIN = () => compiledEirini();

async function start(): Promise<void> {
  e = await startEirini(["--port", "0", "--data-dir", dataDir], { EIRINI_BIN: BIN(), EIRINI_ADMIN_PASSWORD: PASSWORD }, 60_000);
  await waitFor(async () => (await fetch(`${e.url}/readyz`)).ok, { what: "readyz" });
  api = await login(e.url, PASSWORD);
}
async function kill9AndRestart(): Promise<void> {
  e.proc.kill("SIGKILL");
  await e.proc.exited;
  await start();
}

/** Live processes carrying a staging marker of this data dir (left by a staging). */
function stagingProcesses(): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const env = readFileSync(`/proc/${name}/environ`, "latin1");
      if (env.includes(`EIRINI_STAGING_GROUP=${dataDir}/`)) found.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return found;
}

beforeAll(async () => {
  // A buildpack whose staging takes as long as we want: "during staging" is a state, not a race.
  const bp = join(tempDir(), "slow");
  mkdirSync(join(bp, "bin"), { recursive: true });
  const script = (name: string, body: string) => {
    writeFileSync(join(bp, "bin", name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bp, "bin", name), 0o755);
  };
  script("detect", "exit 1");
  script("supply", "sleep 300 & wait");
  script("finalize", "exit 0");
  script("release", "printf -- '---\\ndefault_process_types: {}\\n'");
  const added = await runEirini(["buildpacks", "add", "slow", bp, "--data-dir", dataDir], { EIRINI_BIN: BIN() });
  expect(`${added.code} ${added.stderr}`).toStartWith("0");
  await start();
}, 120_000);
afterAll(async () => {
  await e?.stop();
  cleanupTempDirs();
});

describe("kill -9 (real process)", () => {
  test("during a package upload: the package still awaits its bits, no temp file stays, the upload then works", async () => {
    const { pkg } = await (async () => {
      const space = (await api.json("GET", "/v3/spaces?names=dev")).resources[0].guid;
      const app = (await api.json("POST", "/v3/apps", { name: "k-upload", relationships: { space: { data: { guid: space } } } })).guid;
      return { pkg: (await api.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app } } } })).guid as string };
    })();
    const u = new URL(e.url);
    const sock = connect(Number(u.port), u.hostname);
    // The appliance dies under this socket: its reset is expected.
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    const boundary = "----k9";
    sock.write(`POST /v3/packages/${pkg}/upload HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: bearer ${api.token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    sock.write(`--${boundary}\r\nContent-Disposition: form-data; name="bits"; filename="a.zip"\r\n\r\n`);
    sock.write(Buffer.alloc(4 * 1024 * 1024));
    const tmp = join(dataDir, "blobs", "tmp");
    await waitFor(() => readdirSync(tmp).some((n) => n.startsWith("upload-")), { what: "the upload's temp file" });
    await kill9AndRestart();
    sock.destroy();
    expect(readdirSync(tmp)).toEqual([]);
    expect((await api.json("GET", `/v3/packages/${pkg}`)).state).toBe("AWAITING_UPLOAD");
    expect((await uploadBits(e.url, api, pkg, smallAppZip())).status).toBe(200);
  }, 60_000);

  test("during a staging: the build fails as interrupted, the staging's processes are killed, a new build stages", async () => {
    const { app, pkg } = await pushUntilBuild(e.url, api, "k-staging");
    const build = (await api.json("POST", "/v3/builds", { package: { guid: pkg }, lifecycle: { type: "buildpack", data: { buildpacks: ["slow"] } } })).guid as string;
    await waitFor(() => stagingProcesses().length > 0, { timeoutMs: 20_000, what: "the slow buildpack to run" });
    await kill9AndRestart();
    expect(stagingProcesses()).toEqual([]);
    const b = await api.json("GET", `/v3/builds/${build}`);
    expect(b.state).toBe("FAILED");
    expect(b.error).toMatch(/interrupted/);
    const again = (await api.json("POST", "/v3/builds", { package: { guid: pkg } })).guid as string;
    expect((await buildOutcome(api, again)).state).toBe("STAGED");
    expect(app).toBeString();
  }, 60_000);

  test("right after a build is created: never left STAGING, and the package stages after the restart", async () => {
    const { build, pkg } = await pushUntilBuild(e.url, api, "k-build");
    await kill9AndRestart();
    expect(stagingProcesses()).toEqual([]);
    expect(["FAILED", "STAGED"]).toContain((await api.json("GET", `/v3/builds/${build}`)).state);
    const again = (await api.json("POST", "/v3/builds", { package: { guid: pkg } })).guid as string;
    expect((await buildOutcome(api, again)).state).toBe("STAGED");
  }, 60_000);

  test("during a registry blob upload: the registry answers after the restart and the same push then works", async () => {
    const basic = `Basic ${btoa(`admin:${PASSWORD}`)}`;
    const start = await fetch(`${e.url}/v2/k9/app/blobs/uploads/`, { method: "POST", headers: { authorization: basic } });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get("location")!, e.url);
    const u = new URL(e.url);
    const sock = connect(Number(u.port), u.hostname);
    // The appliance dies under this socket: its reset is expected.
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    sock.write(`PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: ${basic}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${32 * 1024 * 1024}\r\n\r\n`);
    sock.write(Buffer.alloc(2 * 1024 * 1024, 7));
    await Bun.sleep(0);
    await waitFor(() => readdirSync(join(dataDir, "registry"), { recursive: true }).some((n) => String(n).includes("upload")), { what: "the registry upload to start" });
    await kill9AndRestart();
    sock.destroy();
    expect((await fetch(`${e.url}/v2/`, { headers: { authorization: basic } })).status).toBe(200);
    const blob = new TextEncoder().encode("layer after a crash");
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(blob).digest("hex")}`;
    const put = await fetch(`${e.url}/v2/k9/app/blobs/uploads/?digest=${digest}`, { method: "POST", headers: { authorization: basic, "content-type": "application/octet-stream" }, body: blob });
    expect(put.status).toBe(201);
    expect((await fetch(`${e.url}/v2/k9/app/blobs/${digest}`, { headers: { authorization: basic } })).status).toBe(200);
  }, 60_000);
});
