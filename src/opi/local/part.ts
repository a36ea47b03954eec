import { join } from "node:path";
import type { AppliancePart, PartContext } from "../../part/index.ts";
import { createLocalExecutor, type StagingExecutor } from "../../st8ge/index.ts";
import { ContainerExecutor } from "./container-executor.ts";
import { createExecutor, createLocalBackend, type LocalBackendOptions } from "./index.ts";
import type { LocalBackend } from "./local-backend.ts";

/**
 * The local backend as an appliance part: started before the parts that call
 * it (re-adopts instances, converges), stopped after them (stops instances
 * with the SIGTERM grace). `backend` is what Sink and the Cloud Controller
 * get, as an `OpiBackend`. With container isolation, `stagingExecutor` runs
 * buildpacks in containers on the same stack and bridge as the apps.
 */
export function createLocalBackendPart(ctx: PartContext): { part: LocalBackendPart; backend: LocalBackend; stagingExecutor?: StagingExecutor } {
  const opts: LocalBackendOptions = { store: ctx.store, config: ctx.config, logger: ctx.logger, logs: ctx.store.logs, cfApi: ctx.baseUrl };
  const executor = createExecutor(opts);
  const backend = createLocalBackend({ ...opts, executor });
  const stagingExecutor =
    executor instanceof ContainerExecutor
      ? createLocalExecutor({
          workRoot: join(ctx.store.dataDir, "staging", "work"),
          gzipLevel: ctx.config.staging.dropletGzipLevel,
          container: { host: executor.host, stackRootfs: () => executor.stackRootfs(), pidsLimit: ctx.config.local.pidsLimit },
        })
      : undefined;
  return { backend, ...(stagingExecutor ? { stagingExecutor } : {}), part: { name: "opi-local", backend, start: () => backend.start(), stop: () => backend.stop() } };
}

/** The part also carries its backend, so whoever holds the appliance's parts can reach it. */
export type LocalBackendPart = AppliancePart & { backend: LocalBackend };
