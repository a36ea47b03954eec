import { zipSync, type Zippable } from "fflate";
import { createCloudControllerPart, type CcLogStore, type Stager, type StoredLog } from "../../src/cc/index.ts";
import { ConfigSchema, type ConfigInput } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { LogLineInput, StagingRequestInput, StagingResult } from "../../src/model/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { putDroplet } from "../support/droplet.ts";
import { MemoryOpi } from "../support/memory-opi.ts";
import { tempDir } from "../support/tmp.ts";

export const BASE = "http://cc.test:7080";
export const ADMIN_PASSWORD = "correct horse battery staple";

/** An in-memory log store with the app-logs read semantics ([start, end), limit, descending). */
export class MemoryLogs implements CcLogStore {
  readonly lines: StoredLog[] = [];
  append(l: LogLineInput): void {
    this.lines.push({ source_id: l.source_id, timestamp: BigInt(l.timestamp ?? 0), source_type: l.source_type, instance_id: l.instance_id ?? "", stream: l.stream, message: l.message });
  }
  read(sourceId: string, q: { startTime?: bigint; endTime?: bigint; limit?: number; descending?: boolean }): StoredLog[] {
    const hits = this.lines.filter((l) => l.source_id === sourceId && l.timestamp >= (q.startTime ?? 0n) && (q.endTime === undefined || l.timestamp < q.endTime));
    hits.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
    if (q.descending) hits.reverse();
    return hits.slice(0, q.limit ?? 100);
  }
  deleteSource(sourceId: string): void {
    for (let i = this.lines.length - 1; i >= 0; i--) if (this.lines[i]!.source_id === sourceId) this.lines.splice(i, 1);
  }
}

/**
 * A stager that produces a real droplet .tgz in the blob store (like st8ge),
 * writes STG lines, and can be told to fail or to hold until released.
 */
export class FakeStager implements Stager {
  readonly requests: { request: StagingRequestInput; packagePath: string }[] = [];
  failWith: string | null = null;
  hold = false;
  /** The last result it returned, so tests compare CC's rendering with it rather than with literals. */
  lastResult: StagingResult | null = null;
  private releases: (() => void)[] = [];
  cancelled = 0;

  constructor(private readonly store: Store, private readonly logs: MemoryLogs, private readonly clockNs: () => bigint) {}

  release(): void {
    for (const r of this.releases.splice(0)) r();
  }

  stage(request: StagingRequestInput, packagePath: string) {
    this.requests.push({ request, packagePath });
    const log = (message: string) => this.logs.append({ source_id: request.app_guid, source_type: "STG", instance_id: "0", stream: "OUT", message, timestamp: this.clockNs() });
    const gate = this.hold ? new Promise<void>((r) => this.releases.push(r)) : Promise.resolve();
    const failWith = this.failWith;
    const result = (async (): Promise<StagingResult> => {
      log("-----> Fake buildpack detected");
      await gate;
      if (failWith) throw new Error(failWith);
      // Proves the package zip is where CC said it is.
      const pkg = await Bun.file(packagePath).arrayBuffer();
      const hash = await putDroplet(this.store.blobs, { "app/server.js": `// ${pkg.byteLength} bytes staged\n` }, "node server.js");
      log("-----> Droplet uploaded");
      return (this.lastResult = { droplet_guid: crypto.randomUUID(), droplet_hash: hash, detected_buildpack: "nodejs", buildpack_name: "nodejs_buildpack", start_command: "node server.js", process_types: { web: "node server.js", worker: "node worker.js" }, duration_ms: 1 });
    })();
    return { result, cancel: () => void this.cancelled++ };
  }
}

export interface Harness {
  store: Store;
  cc: ReturnType<typeof createCloudControllerPart>;
  opi: MemoryOpi;
  logs: MemoryLogs;
  stager: FakeStager;
  token: string;
  /** Moves the injected clock forward. */
  advance(ms: number): void;
  now(): Date;
  req(method: string, path: string, init?: { body?: unknown; raw?: BodyInit; headers?: Record<string, string>; token?: string | null }): Promise<Response>;
  json<T = any>(method: string, path: string, body?: unknown, expectStatus?: number): Promise<T>;
  login(username?: string, password?: string): Promise<{ access_token: string; refresh_token: string }>;
  /** Stands in for the Sink: desires every desired LRP in the memory OPI. */
  converge(): Promise<void>;
  spaceGuid(): string;
  close(): void;
}

export async function makeHarness(config: ConfigInput = {}): Promise<Harness> {
  const dir = tempDir("eirini-cc-");
  const store = openStore(dir);
  await store.users.create("admin", ADMIN_PASSWORD, ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write", "openid"]);
  let t = Date.parse("2030-01-01T00:00:00Z");
  const clock = { now: () => new Date(t) };
  const logs = new MemoryLogs();
  const stager = new FakeStager(store, logs, () => BigInt(t) * 1_000_000n + BigInt(logs.lines.length));
  const opi = new MemoryOpi();
  const cc = createCloudControllerPart(
    { config: ConfigSchema.parse({ dataDir: dir, ...config }), store, logger: silentLogger, tokenKey: "test-token-key", baseUrl: () => BASE, ports: { stager, instances: opi, tasks: opi, logs } },
    { clock },
  );
  await cc.start?.();
  const h: Harness = {
    store, cc, opi, logs, stager, token: "",
    advance: (ms) => void (t += ms),
    now: () => new Date(t),
    async req(method, path, init = {}) {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      const token = init.token === undefined ? h.token : init.token;
      if (token) headers.authorization = `bearer ${token}`;
      let body: BodyInit | undefined = init.raw;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers["content-type"] ??= "application/json";
      }
      return cc.routes.request(path.startsWith("http") ? path : `${BASE}${path}`, { method, headers, body });
    },
    async json(method, path, body, expectStatus) {
      const res = await h.req(method, path, body === undefined ? {} : { body });
      const text = await res.text();
      if (expectStatus !== undefined && res.status !== expectStatus) throw new Error(`${method} ${path}: expected ${expectStatus}, got ${res.status}: ${text}`);
      if (expectStatus === undefined && res.status >= 400) throw new Error(`${method} ${path}: ${res.status}: ${text}`);
      return text ? JSON.parse(text) : null;
    },
    async login(username = "admin", password = ADMIN_PASSWORD) {
      const res = await cc.routes.request(`${BASE}/uaa/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
        body: new URLSearchParams({ grant_type: "password", username, password }).toString(),
      });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as { access_token: string; refresh_token: string };
    },
    async converge() {
      for (const lrp of cc.desiredProcesses()) await opi.desireLRP(lrp);
    },
    spaceGuid() {
      return (store.db.query("SELECT guid FROM cc_spaces WHERE name = 'dev'").get() as { guid: string }).guid;
    },
    close() {
      store.close();
    },
  };
  h.token = (await h.login()).access_token;
  return h;
}

/** A zip as the CLI builds it (unix modes in the external attributes). */
export function makeZip(files: Record<string, { data: string | Uint8Array; mode?: number }>): Uint8Array {
  const z: Zippable = {};
  for (const [name, f] of Object.entries(files)) {
    const data = typeof f.data === "string" ? new TextEncoder().encode(f.data) : f.data;
    z[name] = [data, { attrs: (f.mode ?? 0o100644) * 0x10000, os: 3 }];
  }
  return zipSync(z);
}

export function sha1(data: string): string {
  return new Bun.CryptoHasher("sha1").update(data).digest("hex");
}

/** The multipart body `cf push` sends to /v3/packages/:guid/upload (ccv3/package.go). */
export function uploadForm(resources: unknown[], zip?: Uint8Array): FormData {
  const form = new FormData();
  form.append("resources", JSON.stringify(resources));
  if (zip) form.append("bits", new Blob([zip as Uint8Array<ArrayBuffer>], { type: "application/zip" }), "package.zip");
  return form;
}
