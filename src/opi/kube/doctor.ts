import type { Config } from "../../config/index.ts";
import { createKubeClient, type KubeClient } from "./client.ts";
import { probeFromPod, type ProbeResult, type ProbeTarget } from "./doctor-pod-network.ts";
import { APPLIANCE_RULES } from "./manifests.ts";

/**
 * `eirini doctor` for the Kubernetes side: each check says what it found
 * and, when it fails, what to do about it. Nothing here changes the cluster.
 */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorDeps {
  /** Stacks imported into the registry (names). */
  stacks(): string[];
  fetch?: typeof fetch;
  /** Extra labels for the probe pod (tests: the emulator's run-locally label). */
  podLabels?: Record<string, string>;
  probeTimeoutMs?: number;
}

/** What staging pods call back (kube.publicUrl, else the listening address). */
export function publicUrlOf(config: Config): string {
  return config.kube.publicUrl ?? `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
}

export async function kubeDoctor(config: Config, deps: DoctorDeps): Promise<Check[]> {
  const k = config.kube;
  const out: Check[] = [];
  let client: KubeClient;
  try {
    client = await createKubeClient({ kubeconfig: k.kubeconfig, context: k.context, inCluster: k.inCluster, namespace: k.namespace, timeoutMs: Math.min(k.requestTimeoutMs, 10_000) });
    out.push({ name: "kubeconfig", ok: true, detail: `${k.inCluster ? "in-cluster service account" : (k.kubeconfig ?? "KUBECONFIG / ~/.kube/config")}${k.context ? `, context ${k.context}` : ""}, server ${client.server}` });
  } catch (err) {
    out.push({ name: "kubeconfig", ok: false, detail: (err as Error).message, fix: "set kube.kubeconfig / kube.context in the config (or KUBECONFIG), e.g. `kind get kubeconfig > kind.yaml`" });
    return out;
  }
  try {
    out.push({ name: "api server", ok: true, detail: `reachable, ${await client.version()}` });
  } catch (err) {
    out.push({ name: "api server", ok: false, detail: (err as Error).message, fix: "start the cluster (kind/minikube/k3s) or fix the server address and credentials in the kubeconfig" });
    return out;
  }
  try {
    const res = await client.fetch(`${client.server}/api/v1/namespaces/${encodeURIComponent(k.namespace)}`, { method: "GET", headers: {} });
    await res.text?.();
    if (res.status === 200) out.push({ name: "namespace", ok: true, detail: `${k.namespace} exists` });
    else if (res.status === 404) out.push({ name: "namespace", ok: false, detail: `${k.namespace} does not exist`, fix: `kubectl create namespace ${k.namespace}` });
    else out.push({ name: "namespace", ok: true, detail: `${k.namespace}: cannot read it (HTTP ${res.status}); the permission checks below tell whether it is usable` });
  } catch (err) {
    out.push({ name: "namespace", ok: false, detail: (err as Error).message });
  }
  const missing: string[] = [];
  for (const rule of APPLIANCE_RULES) {
    for (const resource of rule.resources) {
      const [res, sub] = resource.split("/");
      for (const verb of rule.verbs) {
        const allowed = await client.canI(verb, sub ? `${res}/${sub}` : res!, rule.apiGroups[0]!).catch(() => false);
        if (!allowed) missing.push(`${verb} ${resource}${rule.apiGroups[0] ? "." + rule.apiGroups[0] : ""}`);
      }
    }
  }
  out.push(
    missing.length === 0
      ? { name: "permissions", ok: true, detail: `every verb the backend uses is allowed in ${k.namespace}` }
      : { name: "permissions", ok: false, detail: `not allowed in ${k.namespace}: ${missing.join(", ")}`, fix: "apply the Role and RoleBinding from `eirini install` (or grant these verbs to the appliance's identity)" },
  );
  if (!k.registryAddress) {
    out.push({ name: "registry", ok: false, detail: "kube.registryAddress is not set", fix: "set kube.registryAddress to the host:port the cluster's nodes pull from (kind: a NodePort, or host.docker.internal:7080 with an insecure-registry entry)" });
  } else {
    try {
      const res = await (deps.fetch ?? fetch)(`http://${k.registryAddress}/v2/`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      const ok = res.status === 200 || res.status === 401;
      out.push(ok ? { name: "registry", ok, detail: `${k.registryAddress} answers the registry API from here (nodes must reach it too)` } : { name: "registry", ok, detail: `${k.registryAddress}/v2/ answered HTTP ${res.status}`, fix: "point kube.registryAddress at the appliance's registry" });
    } catch (err) {
      out.push({ name: "registry", ok: false, detail: `${k.registryAddress} unreachable from here: ${(err as Error).message}`, fix: "start the appliance, or fix kube.registryAddress (nodes pull droplet images from it)" });
    }
  }
  out.push(...(await podNetworkChecks(config, client, deps)));
  const stacks = deps.stacks();
  const stack = config.staging.defaultStack;
  out.push(stacks.includes(stack) ? { name: "stack", ok: true, detail: `${stack} imported` } : { name: "stack", ok: false, detail: `${stack} is not imported (have: ${stacks.join(", ") || "none"})`, fix: `eirini stack import ${stack} <rootfs.tar>` });
  return out;
}

/**
 * The appliance (publicUrl: staging pods download their input from it and
 * upload droplets to it) and the registry, asked from a pod: a probe Job in
 * the namespace (doctor-pod-network.ts). A loopback address answers from
 * here and from nowhere in the cluster; only a pod can tell.
 */
async function podNetworkChecks(config: Config, client: KubeClient, deps: DoctorDeps): Promise<Check[]> {
  const k = config.kube;
  const publicUrl = publicUrlOf(config).replace(/\/+$/, "");
  const targets: ProbeTarget[] = [{ name: "appliance", url: `${publicUrl}/healthz`, ok: [200] }];
  if (k.registryAddress) targets.push({ name: "registry", url: `http://${k.registryAddress}/v2/`, ok: [200, 401] });
  const image = k.stagingImage.replaceAll("{stack}", config.staging.defaultStack);
  let results: ProbeResult[];
  try {
    results = await probeFromPod({ client, image, targets, podLabels: deps.podLabels, timeoutMs: deps.probeTimeoutMs ?? 60_000 });
  } catch (err) {
    return [{ name: "pod network", ok: false, detail: `cannot ask from a pod whether the appliance and registry are reachable: ${(err as Error).message}`, fix: `make the staging image ${image} pullable (kube.stagingImage), then run doctor again` }];
  }
  const told = (r: ProbeResult) => (r.status === 0 ? "no answer" : `HTTP ${r.status}`);
  return results.map((r) => {
    if (r.name === "appliance") {
      return r.reachable
        ? { name: "appliance from pods", ok: true, detail: `a pod in ${k.namespace} reaches ${publicUrl}` }
        : {
            name: "appliance from pods",
            ok: false,
            detail: `a pod in ${k.namespace} cannot reach the appliance at ${publicUrl} (${told(r)}): staging pods download their input from it and upload droplets to it`,
            fix: "set kube.publicUrl to an address pods can reach (the node's or host's address on the cluster network, or a Service in front of the appliance) and have the appliance listen there (--host)",
          };
    }
    return r.reachable
      ? { name: "registry from pods", ok: true, detail: `a pod in ${k.namespace} reaches the registry at ${k.registryAddress}` }
      : {
          name: "registry from pods",
          ok: false,
          detail: `a pod in ${k.namespace} cannot reach the registry at ${k.registryAddress} (${told(r)}): kubelets pull droplet images from it`,
          fix: "set kube.registryAddress to a host:port the cluster's nodes and pods reach (not a loopback address), e.g. the host's address on the cluster network with an insecure-registry entry, or a NodePort",
        };
  });
}
