/**
 * Upload benchmark, with the built binary (`EIRINI_BIN`, default dist/eirini):
 * one `POST /v3/packages/:guid/upload` of a BENCH_UPLOAD_MB (200) MB package
 * (stored zip of random, incompressible files) streamed by curl, as the cf CLI
 * streams it.
 *
 * 1. Peak RSS of the appliance during the upload, against its RSS right
 *    before (goal: growth <= N + 64 MB; the upload streams, so far less).
 * 2. API latency during the upload: `GET /v3/apps` back to back (goal: p99
 *    <= 50 ms). Baseline measured in the same run: the same requests with no
 *    upload going on.
 *
 *   bun scripts/bench/upload/index.ts
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, median, percentile, printTable, rssMb } from "../table.ts";

const ROOT = join(import.meta.dir, "../../..");
const BIN = process.env.EIRINI_BIN ?? join(ROOT, "dist/eirini");
const MB = Number(process.env.BENCH_UPLOAD_MB ?? 200);
const PASSWORD = "bench-upload-password";

function writeZip(path: string, mb: number, files = 20): void {
  const script = `import os,sys,zipfile
n=int(sys.argv[2]); mb=int(sys.argv[3])
with zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_STORED) as z:
  for i in range(n):
    with z.open('data/f%d.bin'%i,'w') as f:
      left=mb*1024*1024//n
      while left>0:
        k=min(left,1<<20); f.write(os.urandom(k)); left-=k
`;
  const r = Bun.spawnSync(["python3", "-c", script, path, String(files), String(mb)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`python3 zipfile: ${r.stderr.toString()}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "eirini-bench-upload-"));
  const proc = Bun.spawn([BIN, "local", "--port", "0", "--data-dir", join(dir, "data")], { env: { ...process.env, EIRINI_ADMIN_PASSWORD: PASSWORD }, stdout: "pipe", stderr: "ignore" });
  try {
    let out = "";
    const reader = (async () => {
      for await (const c of proc.stdout) out += new TextDecoder().decode(c);
    })();
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /eirini listening on (\S+)/.exec(out)?.[1];
      if (!url) await Bun.sleep(20);
    }
    if (!url) throw new Error("eirini did not start");
    void reader;
    const tok = await fetch(`${url}/uaa/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
      body: new URLSearchParams({ grant_type: "password", username: "admin", password: PASSWORD }),
    });
    const token = ((await tok.json()) as { access_token: string }).access_token;
    const auth = { authorization: `bearer ${token}` };
    const json = async (method: string, path: string, body?: unknown) => (await fetch(`${url}${path}`, { method, headers: { ...auth, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined })).json() as Promise<any>;
    const space = (await json("GET", "/v3/spaces?names=dev")).resources[0].guid;
    const app = (await json("POST", "/v3/apps", { name: "bench-upload", relationships: { space: { data: { guid: space } } } })).guid;
    const pkg = (await json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app } } } })).guid;

    const zip = join(dir, "package.zip");
    writeZip(zip, MB);
    const n = statSync(zip).size / 1024 / 1024;

    const probe = async () => {
      const t = performance.now();
      const r = await fetch(`${url}/v3/apps`, { headers: auth });
      await r.arrayBuffer();
      return performance.now() - t;
    };
    for (let i = 0; i < 20; i++) await probe(); // warm
    const idle: number[] = [];
    for (let i = 0; i < 300; i++) idle.push(await probe());

    const before = rssMb(proc.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(proc.pid))), 10);
    const t0 = performance.now();
    const curl = Bun.spawn(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: bearer ${token}`, "-F", `bits=@${zip};type=application/zip`, "-F", "resources=[]", `${url}/v3/packages/${pkg}/upload`], { stdout: "pipe", stderr: "pipe" });
    const during: number[] = [];
    while (curl.exitCode === null) during.push(await probe());
    const status = await new Response(curl.stdout).text();
    const uploadMs = performance.now() - t0;
    clearInterval(sampler);
    if (status !== "200") throw new Error(`upload answered ${status}: ${await new Response(curl.stderr).text()}`);

    printTable(`Upload of a ${fmt(n, 0)} MB package (goal: RSS growth <= N + 64 = ${fmt(n + 64, 0)} MB)`, ["what", "MB"], [
      ["RSS before the upload (baseline)", fmt(before, 0)],
      ["peak RSS during the upload", fmt(peak, 0)],
      ["growth", fmt(peak - before, 0)],
      ["upload time (s)", fmt(uploadMs / 1000, 1)],
    ]);
    printTable("API latency, GET /v3/apps (goal: p99 <= 50 ms during the upload)", ["when", "requests", "p50 ms", "p99 ms", "max ms"], [
      ["idle (baseline)", idle.length, fmt(median(idle)), fmt(percentile(idle, 99)), fmt(Math.max(...idle))],
      ["during the upload", during.length, fmt(median(during)), fmt(percentile(during, 99)), fmt(Math.max(...during))],
    ]);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
