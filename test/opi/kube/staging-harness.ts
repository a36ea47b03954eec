import { join } from "node:path";
import { silentLogger } from "../../../src/log/index.ts";
import { createKubeClient, createKubeStagingExecutor, StagingTransfers, type KubeClient, type KubeStagingExecutor, type KubeStagingExecutorOptions } from "../../../src/opi/kube/index.ts";
import { RUN_LOCALLY_LABEL, startKubeEmulator, type KubeEmulator } from "../../support/kube/index.ts";
import { tempDir } from "../../support/tmp.ts";
import { fixtureFate, NS } from "./harness.ts";

/**
 * The Kubernetes staging executor against the emulator, whose kubelet runs
 * staging pods' commands on this machine; the appliance side (transfer
 * routes) is served on a random port here.
 */
export interface StagingSetup {
  kube: KubeEmulator;
  client: KubeClient;
  transfers: StagingTransfers;
  url: string;
  make(extra?: Partial<KubeStagingExecutorOptions>): { executor: KubeStagingExecutor; workRoot: string };
  close(): Promise<void>;
}

export async function stagingSetup(): Promise<StagingSetup> {
  const kube = await startKubeEmulator({ namespaces: [NS], runPodsLocally: true });
  const fallback = fixtureFate;
  kube.sim.behavior = (pod) => (pod.metadata.labels?.[RUN_LOCALLY_LABEL] === "true" ? { kind: "run-locally" } : fallback(pod));
  const dir = tempDir("eirini-kube-staging-");
  const client = await createKubeClient({ kubeconfig: kube.writeKubeconfig(dir), namespace: NS, timeoutMs: 5000 });
  const transfers = new StagingTransfers("test-token-key");
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: transfers.routes().fetch });
  const url = `http://127.0.0.1:${server.port}`;
  let n = 0;
  return {
    kube,
    client,
    transfers,
    url,
    make(extra = {}) {
      const workRoot = join(dir, `work-${++n}`);
      const executor = createKubeStagingExecutor({
        client,
        transfers,
        applianceUrl: () => url,
        image: (stack) => `eirini-test/${stack || "stack"}:1`,
        workRoot,
        logger: silentLogger,
        podLabels: { [RUN_LOCALLY_LABEL]: "true" },
        backoffMs: () => 20,
        ...extra,
      });
      return { executor, workRoot };
    },
    async close() {
      await server.stop(true);
      await kube.stop();
    },
  };
}
