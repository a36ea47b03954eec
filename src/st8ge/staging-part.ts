import { join } from "node:path";
import type { AppliancePart } from "../part/index.ts";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { LogSink, StagingRequestInput } from "../model/index.ts";
import type { Store } from "../store/index.ts";
import { installBuiltinBuildpacks } from "./builtin-buildpacks.ts";
import { BuildpackStore } from "./buildpack-store.ts";
import type { StagingExecutor } from "./executor.ts";
import { createLocalExecutor } from "./local-executor.ts";
import { createStager, type Stager } from "./stager.ts";

export interface StagingDeps {
  store: Pick<Store, "dataDir" | "db" | "blobs" | "settings">;
  config: Config;
  logSink: LogSink;
  logger?: Logger;
  /** Defaults to the local executor working under `<dataDir>/staging/work`. */
  executor?: StagingExecutor;
}

export interface Staging {
  buildpacks: BuildpackStore;
  executor: StagingExecutor;
  /** Requests without `timeout_ms` get the configured staging timeout. */
  stager: Stager;
}

/** Wires staging over an open store: buildpack store, executor, stager. */
export function createStaging(d: StagingDeps): Staging {
  const buildpacks = new BuildpackStore(d.store.db, d.store.blobs);
  const executor =
    d.executor ??
    createLocalExecutor({
      workRoot: join(d.store.dataDir, "staging", "work"),
      gzipLevel: d.config.staging.dropletGzipLevel,
      ...(d.config.staging.stackPath ? { path: d.config.staging.stackPath } : {}),
    });
  const inner = createStager({
    executor,
    buildpacks,
    blobs: d.store.blobs,
    logSink: d.logSink,
    cacheRoot: join(d.store.dataDir, "staging", "cache"),
    ...(d.logger ? { logger: d.logger } : {}),
  });
  const stager: Stager = {
    stage: (req: StagingRequestInput, pkg, opts) => inner.stage({ timeout_ms: d.config.staging.timeoutMs, stack: d.config.staging.defaultStack, ...req }, pkg, opts),
  };
  return { buildpacks, executor, stager };
}

/** The appliance part: installs the built-in buildpacks at start (first start adds them). */
export function createStagingPart(d: { store: Pick<Store, "db" | "blobs" | "settings">; logger: Logger }): AppliancePart {
  return {
    name: "st8ge",
    async start() {
      const changed = await installBuiltinBuildpacks(new BuildpackStore(d.store.db, d.store.blobs), d.store.settings);
      if (changed.length > 0) d.logger.info("built-in buildpacks installed", { part: "st8ge", buildpacks: changed.join(",") });
    },
  };
}
