/** A minimal CF API client for tests against the real process: token, JSON calls, an app with a bits package. */
export interface Api {
  token: string;
  call(method: string, path: string, body?: unknown): Promise<Response>;
  json<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

export async function login(base: string, password: string, username = "admin"): Promise<Api> {
  const res = await fetch(`${base}/uaa/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
    body: new URLSearchParams({ grant_type: "password", username, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const token = ((await res.json()) as { access_token: string }).access_token;
  const api: Api = {
    token,
    call: (method, path, body) =>
      fetch(`${base}${path}`, { method, headers: { authorization: `bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) }, body: body === undefined ? undefined : JSON.stringify(body) }),
    async json(method, path, body) {
      const r = await api.call(method, path, body);
      const text = await r.text();
      if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
  };
  return api;
}

/** Creates an app in org eirini / space dev and a bits package awaiting upload; returns their guids. */
export async function appWithPackage(api: Api, name: string): Promise<{ app: string; pkg: string }> {
  const space = (await api.json("GET", "/v3/spaces?names=dev")).resources[0].guid as string;
  const app = (await api.json("POST", "/v3/apps", { name, relationships: { space: { data: { guid: space } } } })).guid as string;
  const pkg = (await api.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app } } } })).guid as string;
  return { app, pkg };
}

/** Writes a zip of `files` random (incompressible) files totalling `mb` MiB, stored, with python3's zipfile (no memory in this process). */
export function writeRandomZip(path: string, mb: number, files = 8): void {
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
  if (r.exitCode !== 0) throw new Error(`python3 zipfile failed: ${r.stderr.toString()}`);
}

/** A zip (stored, built in memory with fflate) of a few small files: an app the binary buildpack takes as is. */
export function smallAppZip(files: Record<string, string> = { "run.sh": "#!/bin/sh\nexec sleep 600\n" }): Uint8Array {
  const { zipSync } = require("fflate") as typeof import("fflate");
  const z: Record<string, [Uint8Array, { os: number; attrs: number }]> = {};
  for (const [name, text] of Object.entries(files)) z[name] = [new TextEncoder().encode(text), { os: 3, attrs: (name.endsWith(".sh") ? 0o100755 : 0o100644) * 0x10000 }];
  return zipSync(z);
}

export async function uploadBits(base: string, api: Api, pkg: string, zip: Uint8Array): Promise<Response> {
  const form = new FormData();
  form.append("resources", "[]");
  form.append("bits", new Blob([zip as Uint8Array<ArrayBuffer>], { type: "application/zip" }), "app.zip");
  return fetch(`${base}/v3/packages/${pkg}/upload`, { method: "POST", headers: { authorization: `bearer ${api.token}` }, body: form });
}

/**
 * `cf push` of a tiny process-health-checked app through the API: manifest,
 * package, upload, build; resolves with the app and build guids once the
 * build is created (staging goes on).
 */
export async function pushUntilBuild(base: string, api: Api, name: string, zip = smallAppZip()): Promise<{ app: string; pkg: string; build: string }> {
  const space = (await api.json("GET", "/v3/spaces?names=dev")).resources[0].guid as string;
  const manifest = { applications: [{ name, buildpacks: ["binary"], command: "./run.sh", "health-check-type": "process", "no-route": true, memory: "32M", disk_quota: "64M" }] };
  const applied = await fetch(`${base}/v3/spaces/${space}/actions/apply_manifest`, { method: "POST", headers: { authorization: `bearer ${api.token}`, "content-type": "application/x-yaml" }, body: JSON.stringify(manifest) });
  if (applied.status !== 202) throw new Error(`apply_manifest ${name}: ${applied.status} ${await applied.text()}`);
  const app = (await api.json("GET", `/v3/apps?names=${encodeURIComponent(name)}&space_guids=${space}`)).resources[0].guid as string;
  const pkg = (await api.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app } } } })).guid as string;
  const up = await uploadBits(base, api, pkg, zip);
  if (up.status !== 200) throw new Error(`upload ${name}: ${up.status} ${await up.text()}`);
  const build = (await api.json("POST", "/v3/builds", { package: { guid: pkg } })).guid as string;
  return { app, pkg, build };
}

/** Waits for a build to leave STAGING; returns its final state and droplet guid. */
export async function buildOutcome(api: Api, build: string, timeoutMs = 60_000): Promise<{ state: string; droplet: string | null; error: string | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = await api.json("GET", `/v3/builds/${build}`);
    if (b.state !== "STAGING") return { state: b.state, droplet: b.droplet?.guid ?? null, error: b.error ?? null };
    if (Date.now() > deadline) throw new Error(`build ${build} still STAGING after ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}
