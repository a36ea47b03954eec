import { afterAll, beforeAll, expect, test } from "bun:test";
import { startAppliance, type Appliance } from "../../../src/cli/index.ts";
import { loadConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { LRP } from "../../../src/model/index.ts";
import { SCHEDULING_KEYS } from "../../../src/opi/index.ts";
import type { KubeBackend } from "../../../src/opi/kube/index.ts";
import { startKubeEmulator, type KubeEmulator } from "../../support/kube/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { fixtureFate, IMAGES } from "./harness.ts";

// `eirini local --backend kube`: the whole appliance on a "laptop" against an
// emulated cluster, routing through the API server's service proxy.
let kube: KubeEmulator;
let appliance: Appliance;
let pod: ReturnType<typeof Bun.serve>;
const NS = "eirini-apps";

beforeAll(async () => {
  kube = await startKubeEmulator({ namespaces: [NS] });
  kube.sim.behavior = fixtureFate;
  const kubeconfig = kube.writeKubeconfig(tempDir());
  pod = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(`hello from the pod: ${new URL(req.url).pathname}`) });
  const config = loadConfig({
    flags: {
      port: 0,
      dataDir: tempDir(),
      backend: "kube",
      kube: { kubeconfig, namespace: NS, registryAddress: "127.0.0.1:7080", context: "emulator" },
      sink: { fullPassIntervalMs: 3_600_000 },
    } as never,
  });
  appliance = await startAppliance({ config, logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: "pw" } });
});

afterAll(async () => {
  await appliance?.stop();
  pod?.stop(true);
  await kube?.stop();
  cleanupTempDirs();
});

test("the appliance starts on the kube backend, keeps the pull secret and routes through the service proxy", async () => {
  expect((await fetch(`${appliance.url}/readyz`)).status).toBe(200);
  const secret = await waitFor(() => kube.get("secrets", NS, "eirini-registry"), { what: "pull secret" });
  expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
  const auths = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString()).auths;
  expect(Object.keys(auths)).toEqual(["127.0.0.1:7080"]);

  const backend = (appliance.parts.find((p) => p.name === "opi-kube") as unknown as { backend: KubeBackend }).backend;
  const guid = crypto.randomUUID();
  const lrp = LRP.parse({
    guid,
    version: "v1",
    process_guid: `${guid}-v1`,
    app_guid: guid,
    app_name: "web",
    instances: 1,
    routes: { "cf-router": [{ hostname: "web.apps.localhost", port: 8080 }] },
    lifecycle: { docker_lifecycle: { image: IMAGES.http, command: ["/server"] } },
  });
  await backend.desireLRP(lrp);
  const [inst] = await waitFor(async () => {
    const xs = await backend.getInstances(lrp.process_guid);
    return xs[0]?.state === "RUNNING" ? xs : null;
  });
  const podName = kube.list("pods", NS).find((p) => p.metadata.uid === inst!.instance_guid)!.metadata.name;
  kube.setPodEndpoint(podName, `http://127.0.0.1:${pod.port}`);
  const res = await waitFor(async () => {
    const r = await fetch(`${appliance.url}/some/path?x=1`, { headers: { host: "web.apps.localhost" } });
    return r.status === 200 ? r : null;
  }, { what: "a routed response" });
  expect(await res.text()).toBe("hello from the pod: /some/path");
  expect(kube.counter.get("proxy", "services/proxy")).toBeGreaterThan(0);
});

test("scheduling annotations PATCHed through the CF API reach the StatefulSet, and a change rolls it", async () => {
  const tokenRes = await fetch(`${appliance.url}/uaa/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
    body: new URLSearchParams({ grant_type: "password", username: "admin", password: "pw" }).toString(),
  });
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${appliance.url}${path}`, { method, headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const space = (await api("GET", "/v3/spaces")).resources[0].guid;
  const app = await api("POST", "/v3/apps", { name: "placed", relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } });
  const pkg = await api("POST", "/v3/packages", { type: "docker", data: { image: IMAGES.http }, relationships: { app: { data: { guid: app.guid } } } });
  const build = await api("POST", "/v3/builds", { package: { guid: pkg.guid } });
  const droplet = await waitFor(async () => (await api("GET", `/v3/builds/${build.guid}`)).droplet?.guid as string | undefined, { what: "docker droplet" });
  await api("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
  await api("PATCH", `/v3/spaces/${space}`, { metadata: { annotations: { [SCHEDULING_KEYS.tolerations]: "dedicated=cf:NoSchedule", [SCHEDULING_KEYS.placementTags]: "gpu" } } });
  await api("PATCH", `/v3/apps/${app.guid}`, { metadata: { annotations: { [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd", [SCHEDULING_KEYS.schedulerName]: "bin-packer" } } });
  await api("POST", `/v3/apps/${app.guid}/actions/start`);

  const stsOfApp = () => kube.list("statefulsets", NS).filter((o) => o.metadata.labels?.["cloudfoundry.org/app_guid"] === app.guid);
  const first = await waitFor(() => (stsOfApp().length === 1 ? stsOfApp()[0] : null), { what: "the app's StatefulSet" });
  const spec = first.spec.template.spec;
  expect(spec.nodeSelector).toEqual({ disktype: "ssd", "placement.cloudfoundry.org/gpu": "true" });
  expect(spec.tolerations).toEqual([
    { key: "placement.cloudfoundry.org/gpu", operator: "Exists", effect: "NoSchedule" },
    { key: "dedicated", operator: "Equal", value: "cf", effect: "NoSchedule" },
  ]);
  expect(spec.schedulerName).toBe("bin-packer");

  // A running app: the new node selector replaces the StatefulSet (new version), the old one goes.
  await api("PATCH", `/v3/apps/${app.guid}`, { metadata: { annotations: { [SCHEDULING_KEYS.nodeSelector]: "disktype=nvme" } } });
  const rolled = await waitFor(() => {
    const xs = stsOfApp();
    return xs.length === 1 && xs[0]!.metadata.name !== first.metadata.name ? xs[0] : null;
  }, { what: "the StatefulSet replaced with the new node selector" });
  expect(rolled.spec.template.spec.nodeSelector).toEqual({ disktype: "nvme", "placement.cloudfoundry.org/gpu": "true" });
  expect(rolled.spec.template.spec.schedulerName).toBe("bin-packer");
});

test("an image that cannot be pulled: STARTING with the kubelet's message in stats, a CELL log line, no crash event", async () => {
  const tokenRes = await fetch(`${appliance.url}/uaa/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}` },
    body: new URLSearchParams({ grant_type: "password", username: "admin", password: "pw" }).toString(),
  });
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${appliance.url}${path}`, { method, headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const before = kube.sim.behavior;
  kube.sim.behavior = (pod) => (pod.spec.containers[0].image === "nowhere/missing:1" ? { kind: "image-pull-error", message: "manifest unknown" } : before(pod));
  try {
    const space = (await api("GET", "/v3/spaces")).resources[0].guid;
    const app = await api("POST", "/v3/apps", { name: "unpullable", relationships: { space: { data: { guid: space } } }, lifecycle: { type: "docker", data: {} } });
    const pkg = await api("POST", "/v3/packages", { type: "docker", data: { image: "nowhere/missing:1" }, relationships: { app: { data: { guid: app.guid } } } });
    const build = await api("POST", "/v3/builds", { package: { guid: pkg.guid } });
    const droplet = await waitFor(async () => (await api("GET", `/v3/builds/${build.guid}`)).droplet?.guid as string | undefined, { what: "docker droplet" });
    await api("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: droplet } });
    await api("POST", `/v3/apps/${app.guid}/actions/start`);
    const web = (await api("GET", `/v3/apps/${app.guid}/processes`)).resources[0].guid;
    const stat = await waitFor(async () => {
      const s = (await api("GET", `/v3/processes/${web}/stats`)).resources[0];
      return s.details?.startsWith("ImagePullBackOff") ? s : null;
    }, { what: "pull back-off in stats" });
    expect(stat.state).toBe("STARTING");
    expect(stat.details).toContain('failed to pull and unpack image "nowhere/missing:1": manifest unknown');
    const crashes = await api("GET", `/v3/audit_events?types=audit.app.process.crash&target_guids=${app.guid}`);
    expect(crashes.resources).toEqual([]);
    appliance.store.logs.flush();
    const cell = appliance.store.logs.read(app.guid).filter((l) => l.source_type === "CELL");
    expect(cell).toHaveLength(1);
    expect(cell[0]!.message).toContain("ErrImagePull: rpc error");
  } finally {
    kube.sim.behavior = before;
  }
});
