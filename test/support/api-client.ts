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
