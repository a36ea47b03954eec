import { createCloudControllerPart, type InstancesReader, type TaskRunner } from "../cc/index.ts";
import { createLocalBackendPart } from "../opi/local/index.ts";
import { createRegistryPart } from "../registry/index.ts";
import { createRouterPart } from "../router/index.ts";
import { createStaging, createStagingPart } from "../st8ge/index.ts";
import type { AppliancePart, PartContext } from "./part.ts";
import { createWebUiPart } from "./web-ui-part.ts";

/**
 * The composition root: which parts `eirini local` runs, in start order.
 * Each part is built only through its folder's entry file.
 */
export async function buildParts(ctx: PartContext): Promise<AppliancePart[]> {
  // The registry part exposes `.registry` (composeDropletImage, pullCredentials) for the parts that need it.
  const registry = createRegistryPart(ctx);
  const staging = createStaging({ store: ctx.store, config: ctx.config, logSink: ctx.store.logs, logger: ctx.logger });
  const cc = createCloudControllerPart({
    ...ctx,
    ports: { stager: staging.stager, instances: opiNotWiredInstances, tasks: opiNotWiredTasks, logs: ctx.store.logs },
  });
  // Local OPI backend (before its callers, so it stops after them) and the host-based router over its routes.
  const opi = ctx.config.backend === "local" ? createLocalBackendPart(ctx) : undefined;
  const router = opi
    ? createRouterPart({ domain: ctx.config.router.domain, targets: (h) => opi.backend.routeTargets(h), knowsRoute: (h) => opi.backend.knowsRoute(h), logger: ctx.logger })
    : undefined;
  // The st8ge part installs the built-in buildpacks at start (before the CC takes builds).
  const stagingPart = createStagingPart({ store: ctx.store, logger: ctx.logger });
  return [registry, stagingPart, ...(opi ? [opi.part] : []), cc, ...(router ? [router] : []), createWebUiPart()];
}

// Interim CC ports until the OPI backend and Sink are wired here (the lead replaces both with the backend):
// no orchestrator yet means no instances to report and nowhere to run tasks.
const opiNotWiredInstances: InstancesReader = { getInstances: async () => [] };
const opiNotWiredTasks: TaskRunner = {
  desireTask: async () => {
    throw new Error("no orchestrator backend is wired into the appliance yet");
  },
  cancelTask: async () => {},
};
