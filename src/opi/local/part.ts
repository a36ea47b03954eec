import { join } from "node:path";
import type { AppliancePart, PartContext } from "../../part/index.ts";
import type { Registry } from "../../registry/index.ts";
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
export function createLocalBackendPart(ctx: PartContext, deps: { registry?: Pick<Registry, "pullCredentials"> } = {}): { part: LocalBackendPart; backend: LocalBackend; stagingExecutor?: StagingExecutor } {
  // Docker images on the appliance's own registry are pulled with its pull-only account (as kubelets get it in a pull secret).
  const registryAuth = (host: string) => {
    if (!deps.registry) return undefined;
    const own = new URL(ctx.baseUrl());
    const port = own.port || "80";
    const mine = [own.host, `127.0.0.1:${port}`, `localhost:${port}`];
    return mine.includes(host) ? deps.registry.pullCredentials() : undefined;
  };
  // Apps reach each other through routes, as in CF: when the appliance listens beyond loopback, its port is open to containers
  // (only that port). On loopback (the default) the router is this machine's alone and containers cannot reach it.
  const loopback = /^(127\.|localhost$|::1$|\[::1\]$)/.test(ctx.config.host);
  const openPorts = () => (loopback ? [] : [Number(new URL(ctx.baseUrl()).port)]);
  const opts: LocalBackendOptions = { store: ctx.store, config: ctx.config, logger: ctx.logger, logs: ctx.store.logs, cfApi: ctx.baseUrl, registryAuth, openPorts };
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
