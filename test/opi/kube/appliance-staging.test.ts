import { afterAll, beforeAll, expect, test } from "bun:test";
import { zipSync } from "fflate";
import { startAppliance, type Appliance } from "../../../src/cli/index.ts";
import { loadConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { startKubeEmulator, type KubeEmulator } from "../../support/kube/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { fixtureFate } from "./harness.ts";

// `eirini local --backend kube`: a CF build stages in a Job. The emulator's
// kubelet runs the staging pod's script here; the pod fetches its input from
// the appliance and uploads the droplet back, as it would in a cluster.
let kube: KubeEmulator;
let appliance: Appliance;
let token = "";
let dataDir = "";
const NS = "eirini-apps";

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const init: RequestInit = { method, headers: { authorization: `bearer ${token}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await fetch(`${appliance.url}${path}`, init);
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

beforeAll(async () => {
  kube = await startKubeEmulator({ namespaces: [NS], runPodsLocally: true });
  kube.sim.behavior = (pod) => (pod.metadata.labels?.["cloudfoundry.org/source_type"] === "STG" ? { kind: "run-locally" } : fixtureFate(pod));
  const config = loadConfig({
    flags: {
      port: 0,
      dataDir: (dataDir = tempDir()),
      backend: "kube",
      kube: { kubeconfig: kube.writeKubeconfig(tempDir()), namespace: NS, registryAddress: "127.0.0.1:7080", context: "emulator" },
      sink: { fullPassIntervalMs: 3_600_000 },
    } as never,
  });
  appliance = await startAppliance({ config, logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: "pw" } });
  const res = await fetch(`${appliance.url}/uaa/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
    body: new URLSearchParams({ grant_type: "password", username: "admin", password: "pw" }).toString(),
  });
  token = ((await res.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await appliance?.stop();
  await kube?.stop();
  cleanupTempDirs();
});

test("a build stages as a Kubernetes Job and its droplet lands in the blob store", async () => {
  const space = (await api("GET", "/v3/spaces?names=dev")).resources[0];
  const app = await api("POST", "/v3/apps", { name: "stg-app", relationships: { space: { data: { guid: space.guid } } } });
  const pkg = await api("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app.guid } } } });
  const form = new FormData();
  form.append("resources", "[]");
  const zip = zipSync({ Procfile: new TextEncoder().encode("web: ./run\n"), run: [new TextEncoder().encode("#!/bin/sh\necho hi\n"), { os: 3, attrs: (0o100755 << 16) >>> 0 }] });
  form.append("bits", new Blob([zip as Uint8Array<ArrayBuffer>], { type: "application/zip" }), "package.zip");
  await api("POST", `/v3/packages/${pkg.guid}/upload`, form);
  const build = await api("POST", "/v3/builds", { package: { guid: pkg.guid }, lifecycle: { type: "buildpack", data: { buildpacks: ["procfile"] } } });
  const done = await waitFor(async () => {
    const b = await api("GET", `/v3/builds/${build.guid}`);
    return b.state === "STAGING" ? null : b;
  }, { timeoutMs: 20_000, what: "the build to finish" });
  expect(done.error ?? null).toBeNull();
  expect(done.state).toBe("STAGED");
  expect(kube.counter.get("create", "jobs")).toBeGreaterThan(0);
  const droplet = await api("GET", `/v3/droplets/${done.droplet.guid}`);
  expect(droplet.process_types.web).toBe("./run");
  // droplet_hash convention: the droplet is the blob sha256:<hash>.
  expect(await Bun.file(`${dataDir}/blobs/sha256/${droplet.checksum.value.slice(0, 2)}/${droplet.checksum.value}`).exists()).toBe(true);
  await waitFor(() => kube.list("jobs", NS).length === 0, { what: "the staging Job to be deleted" });
});

test("a staging that fails in its pod is told once in the app's log", async () => {
  const space = (await api("GET", "/v3/spaces?names=dev")).resources[0];
  const app = await api("POST", "/v3/apps", { name: "stg-fail", relationships: { space: { data: { guid: space.guid } } } });
  const pkg = await api("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app.guid } } } });
  const form = new FormData();
  form.append("resources", "[]");
  const zip = zipSync({ "readme.txt": new TextEncoder().encode("nothing any buildpack detects\n") });
  form.append("bits", new Blob([zip as Uint8Array<ArrayBuffer>], { type: "application/zip" }), "package.zip");
  await api("POST", `/v3/packages/${pkg.guid}/upload`, form);
  const build = await api("POST", "/v3/builds", { package: { guid: pkg.guid } });
  const done = await waitFor(async () => {
    const b = await api("GET", `/v3/builds/${build.guid}`);
    return b.state === "STAGING" ? null : b;
  }, { timeoutMs: 20_000, what: "the build to fail" });
  expect(done.state).toBe("FAILED");
  appliance.store.logs.flush();
  const failures = appliance.store.logs.read(app.guid).filter((l) => l.message.startsWith("Staging failed"));
  expect(failures).toHaveLength(1);
});
