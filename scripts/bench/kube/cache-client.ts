/**
 * One informer client for the memory benchmark, in its own process so its
 * RSS is its own: `ours` (the backend's informers and projections) or
 * `stock` (client-node's makeInformer caching whole objects, as Eirini did).
 * Prints one JSON line with RSS before and after the caches are full; the
 * full figure both as the process stands (what the shipped binary holds)
 * and after a forced GC. Run without --smol: the shipped binary is not smol.
 */
import * as k8s from "@kubernetes/client-node";
import { silentLogger } from "../../../src/log/index.ts";
import { createKubeClient, KubeBackend } from "../../../src/opi/kube/index.ts";

const [mode, kubeconfig, ns] = [process.argv[2], process.argv[3]!, process.argv[4] ?? "cf-apps"];
const rss = () => process.memoryUsage.rss() / 1024 / 1024;
Bun.gc(true);
const before = rss();
const t0 = performance.now();
let counts: Record<string, number> = {};
if (mode === "ours") {
  const client = await createKubeClient({ kubeconfig, namespace: ns, timeoutMs: 120_000 });
  const backend = new KubeBackend({ client, logger: silentLogger, build: { namespace: ns, cfApi: "http://127.0.0.1:7080", registryAddress: "registry.example:5000", pullSecret: "eirini-registry" }, syncTimeoutMs: 600_000 });
  await backend.start();
  counts = { statefulsets: backend.sts.cache.size, pods: backend.pods.cache.size, services: backend.services.cache.size, pdbs: backend.pdbs.cache.size };
} else {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const pods = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns }));
  const sts = k8s.makeInformer(kc, `/apis/apps/v1/namespaces/${ns}/statefulsets`, () => apps.listNamespacedStatefulSet({ namespace: ns }));
  await Promise.all([pods.start(), sts.start()]);
  counts = { statefulsets: sts.list(ns).length, pods: pods.list(ns).length };
}
const syncMs = performance.now() - t0;
const afterNoGc = rss();
Bun.gc(true);
console.log(JSON.stringify({ mode, before, afterNoGc, after: rss(), syncMs, counts }));
process.exit(0);
