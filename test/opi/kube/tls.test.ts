import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../../src/log/index.ts";
import { createKubeClient, KubeBackend } from "../../../src/opi/kube/index.ts";
import { startKubeEmulator } from "../../support/kube/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { fixtureFate } from "./harness.ts";

afterAll(cleanupTempDirs);

const openssl = Bun.which("openssl");

// kind, minikube and k3s serve HTTPS with their own CA: the kubeconfig's CA must be honoured by lists, writes and watches.
test.skipIf(!openssl)("the backend talks TLS with the kubeconfig's CA and refuses an unknown certificate", async () => {
  const dir = tempDir();
  const gen = Bun.spawnSync([openssl!, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
  expect(gen.exitCode).toBe(0);
  const kube = await startKubeEmulator({ namespaces: ["apps"], tls: { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") } });
  kube.sim.behavior = fixtureFate;
  try {
    const kubeconfig = kube.writeKubeconfig(dir);
    const backend = new KubeBackend({
      client: await createKubeClient({ kubeconfig, namespace: "apps", timeoutMs: 2000 }),
      logger: silentLogger,
      build: { namespace: "apps", cfApi: "", registryAddress: "r:5000" },
      backoffMs: () => 20,
    });
    await backend.start();
    const guid = crypto.randomUUID();
    await backend.desireLRP({ guid, version: "v1", process_guid: `${guid}-v1`, app_guid: "a", app_name: "tls", instances: 1, lifecycle: { docker_lifecycle: { image: "eirini-test/http:1", command: [] } } } as never);
    await waitFor(async () => (await backend.getInstances(`${guid}-v1`))[0]?.state === "RUNNING", { what: "running over TLS" });
    await backend.stop();

    const insecure = join(dir, "no-ca");
    writeFileSync(insecure, readFileSync(kubeconfig, "utf8").replace(/ {4}certificate-authority-data: .*\n/, ""));
    const noCa = await createKubeClient({ kubeconfig: insecure, namespace: "apps", timeoutMs: 2000 });
    await expect(noCa.list("pods")).rejects.toThrow(/unreachable.*(self.signed|certificate)/i);
  } finally {
    await kube.stop();
  }
});
