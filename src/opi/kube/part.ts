import type { AppliancePart, PartContext } from "../../part/index.ts";
import { join } from "node:path";
import { AppLogFollower } from "./app-logs.ts";
import { KubeBackend } from "./backend.ts";
import { createKubeClient, type KubeClient } from "./client.ts";
import { sanitize } from "./names.ts";
import { ensurePullSecret } from "./pull-secret.ts";
import { startServiceProxy } from "./service-proxy.ts";
import { createKubeStagingExecutor, type KubeStagingExecutor } from "./staging-executor.ts";
import { StagingTransfers } from "./staging-transfers.ts";

/**
 * The Kubernetes backend as an appliance part (`--backend kube`, `eirini
 * in-cluster`): loads the kubeconfig/context (or the service account),
 * keeps the registry pull secret current, composes droplet images before
 * pods pull them, and picks how the router reaches instances (pod IPs in a
 * cluster, the API server's service proxy from a laptop). An unreachable
 * API server at start is reported once, clearly, and retried in the
 * background; the appliance still comes up. Staging runs as Jobs
 * (`stagingExecutor`, for St8ge); the part serves the staging pods'
 * transfer routes and deletes staging Jobs a previous run left at start.
 * App and task output reaches log-cache by following the pods' logs.
 */
export interface KubeRegistryPort {
  composeDropletImage(req: { dropletHash: string; stack: string; repo: string; startCommand?: string }): Promise<unknown>;
  pullCredentials(): { username: string; password: string };
}

export type KubeBackendPart = AppliancePart & { backend: KubeBackend };

export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

export async function createKubeBackendPart(
  ctx: PartContext,
  deps: { registry?: KubeRegistryPort } = {},
): Promise<{ part: KubeBackendPart; backend: KubeBackend; client: KubeClient; stagingExecutor: KubeStagingExecutor }> {
  const k = ctx.config.kube;
  const log = ctx.logger.child({ part: "opi-kube" });
  if (!k.registryAddress) {
    throw new KubeConfigError(
      "kube.registryAddress is not set: give the host:port that cluster nodes pull droplet images from (e.g. the appliance's registry Service, or host.docker.internal:7080 for kind); `eirini doctor` checks it",
    );
  }
  let client: KubeClient;
  try {
    client = await createKubeClient({ kubeconfig: k.kubeconfig, context: k.context, inCluster: k.inCluster, namespace: k.namespace, timeoutMs: k.requestTimeoutMs });
  } catch (err) {
    throw new KubeConfigError(`cannot load the Kubernetes configuration${k.inCluster ? " (in-cluster service account)" : k.kubeconfig ? ` from ${k.kubeconfig}` : " (KUBECONFIG or ~/.kube/config)"}: ${(err as Error).message}`, { cause: err });
  }
  const viaProxy = k.routeVia === "service-proxy" || (k.routeVia === "auto" && !k.inCluster);
  let proxy: { port: number; stop(): void } | undefined;
  const registry = deps.registry;
  const stack = ctx.config.staging.defaultStack;
  const backend = new KubeBackend({
    client,
    logger: ctx.logger,
    build: {
      namespace: k.namespace,
      cfApi: k.publicUrl ?? ctx.baseUrl(),
      registryAddress: k.registryAddress,
      pullSecret: registry ? k.pullSecret : undefined,
      launcherImage: k.launcherImage,
      ingressClass: k.ingressClass,
    },
    prepareDropletImage: registry
      ? async (d) => void (await registry.composeDropletImage({ dropletHash: d.droplet_hash, stack, repo: `cloudfoundry/${sanitize(d.droplet_guid, 100) || "droplet"}`, startCommand: d.start_command }))
      : undefined,
    routeAddress: viaProxy ? () => (proxy ? `127.0.0.1:${proxy.port}` : null) : undefined,
    syncTimeoutMs: 5_000,
  });

  // App and task output: followed from the pods' log API into log-cache.
  const appLogs = new AppLogFollower({ client, pods: backend.pods, sink: ctx.store.logs, logger: log });

  const transfers = new StagingTransfers(ctx.tokenKey);
  const stagingExecutor = createKubeStagingExecutor({
    client,
    transfers,
    applianceUrl: () => k.publicUrl ?? ctx.baseUrl(),
    image: (s) => k.stagingImage.replaceAll("{stack}", s || stack),
    workRoot: join(ctx.store.dataDir, "staging", "kube"),
    // A stack image in the embedded registry needs the same pull secret as droplet images.
    imagePullSecret: (image) => (registry && image.startsWith(`${k.registryAddress}/`) ? k.pullSecret : undefined),
    logger: ctx.logger,
    gzipLevel: 1,
  });

  let secretTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const keepPullSecret = async (attempt = 0): Promise<void> => {
    if (!registry || stopped) return;
    try {
      const r = await ensurePullSecret(client, k.pullSecret, k.registryAddress!, registry.pullCredentials());
      if (r !== "unchanged") log.info("registry pull secret " + r, { secret: k.pullSecret, registry: k.registryAddress });
      secretTimer = setTimeout(() => void keepPullSecret(0), 10 * 60_000);
    } catch (err) {
      log.warn("could not write the registry pull secret; retrying", { secret: k.pullSecret, error: err });
      secretTimer = setTimeout(() => void keepPullSecret(attempt + 1), Math.min(30_000, 1000 * 2 ** attempt));
    }
    secretTimer?.unref?.();
  };

  const part: KubeBackendPart = {
    name: "opi-kube",
    backend,
    routes: transfers.routes(),
    // Results and droplets stream to disk; receiveBody enforces each staging's own disk limit as they arrive.
    bodyLimits: [{ method: "PUT", path: /^\/kube-staging\/[^/]+\/(result|droplet)$/, maxBytes: 64 * 1024 ** 3 }],
    async start() {
      if (viaProxy) proxy = startServiceProxy({ server: client.server, namespace: k.namespace, serviceForHost: (h, p) => backend.serviceForHost(h, p), fetch: (u, i) => client.fetch(u, i), logger: log });
      await backend.start();
      void keepPullSecret();
      // Stagings do not survive a restart: Jobs a previous run left are removed (their TTL is the backstop).
      void stagingExecutor.sweep().then(
        (n) => n > 0 && log.info("removed staging Jobs left by a previous run", { jobs: n }),
        (err) => log.warn("could not sweep old staging Jobs", { error: err }),
      );
      log.info("Kubernetes backend ready", { server: client.server, namespace: k.namespace, registry: k.registryAddress, routes: viaProxy ? "service proxy" : "pod IPs" });
    },
    async stop() {
      stopped = true;
      if (secretTimer) clearTimeout(secretTimer);
      proxy?.stop();
      appLogs.stop();
      await backend.stop();
    },
  };
  return { part, backend, client, stagingExecutor };
}
