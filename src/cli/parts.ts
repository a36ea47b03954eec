import { createCloudControllerPart } from "../cc/index.ts";
import { createLocalBackendPart } from "../opi/local/index.ts";
import { createRegistryPart } from "../registry/index.ts";
import { createRouterPart } from "../router/index.ts";
import { createSinkPart } from "../sink/index.ts";
import { createStaging, createStagingPart } from "../st8ge/index.ts";
import type { AppliancePart, PartContext } from "../part/index.ts";
import { createWebUiPart } from "./web-ui-part.ts";

/**
 * The composition root: which parts `eirini local` runs, in start order.
 * Each part is built only through its folder's entry file.
 */
export async function buildParts(ctx: PartContext): Promise<AppliancePart[]> {
  // The registry part exposes `.registry` (composeDropletImage, pullCredentials) for the parts that need it.
  const registry = createRegistryPart(ctx);
  // Local OPI backend (before its callers, so it stops after them) and the host-based router over its routes.
  // The kube backend (and client-node) load only when asked for, keeping `eirini local` light.
  const opi = ctx.config.backend === "local" ? createLocalBackendPart(ctx, { registry: registry.registry }) : await (await import("../opi/kube/index.ts")).createKubeBackendPart(ctx, { registry: registry.registry });
  const backend = opi.backend;
  // On Kubernetes, stagings run as Jobs in the cluster; locally, on this machine.
  const stagingExecutor = "stagingExecutor" in opi ? opi.stagingExecutor : undefined;
  const staging = createStaging({ store: ctx.store, config: ctx.config, logSink: ctx.store.logs, logger: ctx.logger, tokenKey: ctx.tokenKey, ...(stagingExecutor ? { executor: stagingExecutor } : {}) });
  const cc = createCloudControllerPart({
    ...ctx,
    ports: { stager: staging.stager, instances: backend, tasks: backend, logs: ctx.store.logs },
  });
  // The Sink keeps the backend matching the CC's desired state and feeds crashes and task results back.
  const sink = createSinkPart({
    source: cc,
    opi: backend,
    logger: ctx.logger,
    fullPassIntervalMs: ctx.config.sink.fullPassIntervalMs,
    concurrency: ctx.config.sink.concurrency,
    onEvent: (event) => {
      if (event.type === "crash") cc.recordCrash(event);
      else if (event.type === "task_completed") cc.recordTaskCompletion(event);
    },
  });
  const rc = ctx.config.router;
  const router = createRouterPart({
    domain: rc.domain,
    domains: () => cc.routeDomains(),
    targets: (h) => backend.routeTargets(h),
    knowsRoute: (h) => backend.knowsRoute(h),
    routePaths: (h) => backend.routePaths(h),
    ...(rc.accessLog ? { logs: ctx.store.logs } : {}),
    trustedProxies: ctx.config.trustedProxies,
    timeouts: { requestTimeoutMs: rc.requestTimeoutMs, idleTimeoutMs: rc.idleTimeoutMs },
    logger: ctx.logger,
  });
  // The st8ge part installs the built-in buildpacks at start (before the CC takes builds).
  const stagingPart = createStagingPart({ store: ctx.store, logger: ctx.logger, close: staging.close, ...(staging.routes ? { routes: staging.routes } : {}) });
  return [registry, stagingPart, opi.part, cc, sink, router, createWebUiPart()];
}
