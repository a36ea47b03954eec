import { silentLogger } from "../../../src/log/index.ts";
import { createKubeClient, KubeBackend, type KubeBackendOptions } from "../../../src/opi/kube/index.ts";
import { startKubeEmulator, type KubeEmulator, type Obj, type PodFate } from "../../support/kube/index.ts";
import { tempDir } from "../../support/tmp.ts";

export const NS = "cf-apps";

/** Fixture images the simulated kubelet understands. */
export const IMAGES = { http: "eirini-test/http:1", crash: "eirini-test/crash:1", task: "eirini-test/task:1" };

/** What a simulated kubelet does with our pods: images and task commands decide. */
export function fixtureFate(pod: Obj): PodFate {
  const c = pod.spec?.containers?.[0] ?? {};
  if (c.image === IMAGES.crash) return { kind: "crash", exitCode: 3 };
  if (pod.metadata.labels?.["job-name"]) {
    const cmd = String((c.command ?? []).at(-1) ?? "");
    if (/^exit (\d+)$/.test(cmd)) return { kind: "exit", exitCode: Number(cmd.slice(5)) };
    if (cmd.startsWith("sleep")) return { kind: "ready" };
    return { kind: "exit", exitCode: 0 };
  }
  return { kind: "ready" };
}

export interface KubeSetup {
  kube: KubeEmulator;
  backend: KubeBackend;
  kubeconfig: string;
  make(extra?: Partial<KubeBackendOptions>): Promise<KubeBackend>;
  close(): Promise<void>;
}

export const fast = { backoffMs: () => 20, retryMs: () => 20, taskRetentionMs: 200, syncTimeoutMs: 5000 };

export async function kubeSetup(opts: { backend?: Partial<KubeBackendOptions>; start?: boolean; timeoutMs?: number } = {}): Promise<KubeSetup> {
  const kube = await startKubeEmulator({ namespaces: [NS] });
  kube.sim.behavior = fixtureFate;
  const kubeconfig = kube.writeKubeconfig(tempDir("eirini-kube-"));
  const backends: KubeBackend[] = [];
  const make = async (extra: Partial<KubeBackendOptions> = {}) => {
    const client = await createKubeClient({ kubeconfig, namespace: NS, timeoutMs: opts.timeoutMs ?? 2000 });
    const b = new KubeBackend({
      client,
      logger: silentLogger,
      build: { namespace: NS, cfApi: "http://127.0.0.1:7080", registryAddress: "registry.eirini.test:5000", pullSecret: "eirini-registry" },
      ...fast,
      ...opts.backend,
      ...extra,
    });
    backends.push(b);
    return b;
  };
  const backend = await make();
  if (opts.start !== false) await backend.start();
  return {
    kube,
    backend,
    kubeconfig,
    make,
    async close() {
      for (const b of backends.reverse()) await b.stop().catch(() => {});
      await kube.stop();
    },
  };
}
