import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClusterSim } from "./cluster.ts";
import { Faults, RequestCounter } from "./faults.ts";
import { LocalPodRunner, RUN_LOCALLY_LABEL } from "./local-pods.ts";
import { ObjectStore, type Obj } from "./object-store.ts";
import { resources } from "./resources.ts";
import { createHandler } from "./server.ts";
import { expired } from "./status.ts";

/**
 * A Kubernetes API server emulator for tests, served over real HTTP on
 * 127.0.0.1 and driven through the real `@kubernetes/client-node`.
 *
 * ```ts
 * const kube = await startKubeEmulator({ namespaces: ["eirini"] });
 * const kubeconfig = kube.writeKubeconfig(dir);   // point the backend at it
 * kube.sim.behavior = () => ({ kind: "crash", exitCode: 3 });
 * kube.faults.fail({ verb: "create", resource: "statefulsets", times: 3 });
 * kube.expireWatches();                            // 410 Gone mid-stream
 * // with { runPodsLocally: true }: pods labelled RUN_LOCALLY_LABEL=true run their command here
 * kube.counter.writes();                           // requests by verb/resource
 * await kube.stop();
 * ```
 */
export interface KubeEmulator {
  readonly url: string;
  readonly token: string;
  readonly store: ObjectStore;
  readonly sim: ClusterSim;
  readonly faults: Faults;
  readonly counter: RequestCounter;
  /** Writes a kubeconfig (context `emulator`) and returns its path. */
  writeKubeconfig(dir: string, opts?: { context?: string; namespace?: string }): string;
  /** Kubeconfig YAML text. */
  kubeconfig(opts?: { context?: string; namespace?: string }): string;
  /** Registers where the service proxy reaches a pod (tests run a real HTTP server per "pod"). */
  setPodEndpoint(podName: string, baseUrl: string): void;
  /** Sends `410 Expired` into every open watch and closes it; with `compact`, history is dropped too. */
  expireWatches(opts?: { compact?: boolean }): number;
  /** Closes every open watch cleanly (the server's watch timeout). */
  closeWatches(): number;
  get(resource: string, ns: string, name: string): Obj | undefined;
  list(resource: string, ns?: string): Obj[];
  /** Writes as a user with kubectl would (by hand, outside the backend). */
  create(resource: string, ns: string, obj: Obj): Obj;
  replace(resource: string, ns: string, name: string, obj: Obj): Obj;
  delete(resource: string, ns: string, name: string, propagation?: string): void;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  namespaces?: string[];
  /** Events kept for watch resumption; older resourceVersions get 410. */
  historyLimit?: number;
  user?: string;
  /** Serve HTTPS with this certificate; kubeconfigs then carry its CA data instead of skipping verification. */
  tls?: { cert: string; key: string };
  /** Pods labelled `RUN_LOCALLY_LABEL: "true"` run their first container's command on this machine (see local-pods.ts). */
  runPodsLocally?: boolean;
  /** Run those pods in this network namespace (made by the test): a pod's view of the network. */
  podNetns?: string;
}

const r = (name: string) => {
  const info = resources.get(name);
  if (!info) throw new Error(`emulator does not serve ${name}`);
  return info;
};

export async function startKubeEmulator(opts: EmulatorOptions = {}): Promise<KubeEmulator> {
  const store = new ObjectStore(opts.historyLimit ?? 10_000);
  const sim = new ClusterSim(store);
  if (opts.runPodsLocally) {
    sim.localPods = new LocalPodRunner(50, opts.podNetns);
    const fallback = sim.behavior;
    sim.behavior = (pod) => (pod.metadata.labels?.[RUN_LOCALLY_LABEL] === "true" ? { kind: "run-locally" } : fallback(pod));
  }
  const faults = new Faults();
  const counter = new RequestCounter();
  const token = `emulator-${crypto.randomUUID()}`;
  const endpoints = new Map<string, string>();
  for (const ns of ["default", ...(opts.namespaces ?? [])]) {
    if (!store.get(r("namespaces"), "", ns)) store.create(r("namespaces"), "", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns }, status: { phase: "Active" } });
  }
  const handle = createHandler({
    store,
    faults,
    counter,
    token,
    user: opts.user ?? "system:serviceaccount:eirini:eirini",
    podEndpoint: (pod) => endpoints.get(pod.metadata.name) ?? null,
    podLogs: (ns, name, q, signal) => sim.logStream(ns, name, q, signal),
    onDelete: (_resource, ns, obj, propagation) => sim.collect(ns, obj, propagation),
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: handle, ...(opts.tls ? { tls: opts.tls } : {}) });
  const url = `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  const kubeconfig = (o: { context?: string; namespace?: string } = {}) => {
    const ctx = o.context ?? "emulator";
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: emulator",
      "  cluster:",
      `    server: ${url}`,
      opts.tls ? `    certificate-authority-data: ${Buffer.from(opts.tls.cert).toString("base64")}` : "    insecure-skip-tls-verify: true",
      "users:",
      "- name: emulator",
      "  user:",
      `    token: ${token}`,
      "contexts:",
      `- name: ${ctx}`,
      "  context:",
      "    cluster: emulator",
      "    user: emulator",
      ...(o.namespace ? [`    namespace: ${o.namespace}`] : []),
      `current-context: ${ctx}`,
      "",
    ].join("\n");
  };
  return {
    url,
    token,
    store,
    sim,
    faults,
    counter,
    kubeconfig,
    writeKubeconfig(dir, o) {
      const path = join(dir, "kubeconfig");
      writeFileSync(path, kubeconfig(o), { mode: 0o600 });
      return path;
    },
    setPodEndpoint: (podName, baseUrl) => void endpoints.set(podName, baseUrl),
    expireWatches(o = {}) {
      if (o.compact) store.compact();
      return store.closeWatches(expired("0", store.resourceVersion).body);
    },
    closeWatches: () => store.closeWatches(),
    get: (resource, ns, name) => store.get(r(resource), ns, name),
    list: (resource, ns) => store.list(r(resource), ns),
    create: (resource, ns, obj) => store.create(r(resource), ns, { apiVersion: "v1", kind: r(resource).kind, ...obj }),
    replace: (resource, ns, name, obj) => store.replace(r(resource), ns, name, obj),
    delete(resource, ns, name, propagation = "Background") {
      const gone = store.delete(r(resource), ns, name);
      sim.collect(ns, gone, propagation);
    },
    async stop() {
      sim.stop();
      faults.clear();
      store.closeWatches();
      await server.stop(true);
    },
  };
}

export type { PodFate } from "./cluster.ts";
export { RUN_LOCALLY_LABEL, LocalPodRunner, quantityBytes } from "./local-pods.ts";
export type { Obj } from "./object-store.ts";
