import type { AppliancePart, PartContext } from "../../part/index.ts";
import { createLocalBackend } from "./index.ts";
import type { LocalBackend } from "./local-backend.ts";

/**
 * The local backend as an appliance part: started before the parts that call
 * it (re-adopts instances, converges), stopped after them (stops instances
 * with the SIGTERM grace). `backend` is what Sink and the Cloud Controller
 * get, as an `OpiBackend`.
 */
export function createLocalBackendPart(ctx: PartContext): { part: LocalBackendPart; backend: LocalBackend } {
  const backend = createLocalBackend({ store: ctx.store, config: ctx.config, logger: ctx.logger, logs: ctx.store.logs, cfApi: ctx.baseUrl });
  return { backend, part: { name: "opi-local", backend, start: () => backend.start(), stop: () => backend.stop() } };
}

/** The part also carries its backend, so whoever holds the appliance's parts can reach it. */
export type LocalBackendPart = AppliancePart & { backend: LocalBackend };
