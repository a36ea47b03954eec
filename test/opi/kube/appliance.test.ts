import { afterAll, beforeAll, expect, test } from "bun:test";
import { startAppliance, type Appliance } from "../../../src/cli/index.ts";
import { loadConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { LRP } from "../../../src/model/index.ts";
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
