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
import { RUNTIMES_PREFIX, RuntimeProvider, RuntimeStore, RuntimeTokens, runtimeRoutes } from "./runtimes/index.ts";
import type { Hono } from "hono";

export interface StagingDeps {
  store: Pick<Store, "dataDir" | "db" | "blobs" | "settings">;
  config: Config;
  logSink: LogSink;
  logger?: Logger;
  /** Defaults to the local executor working under `<dataDir>/staging/work`. */
  executor?: StagingExecutor;
  /** With it, stagings can fetch runtimes from the appliance (`EIRINI_RUNTIMES_URL`, `..._TOKEN`). */
  tokenKey?: string;
  /**
   * Where the local executor's stagings reach the runtime routes. Default: a
   * loopback listener of its own (plain HTTP on 127.0.0.1, started with the
   * first staging), so neither TLS nor a public URL behind a proxy is in the way.
   */
  baseUrl?: () => string;
}

export interface Staging {
  buildpacks: BuildpackStore;
  executor: StagingExecutor;
  /** Requests without `timeout_ms` get the configured staging timeout. */
  stager: Stager;
  /** The runtime dependency store and how stagings reach it. */
  runtimes: RuntimeProvider;
  /** The runtime routes (staging downloads, admin API); absent without a token key. */
  routes?: Hono;
  /** Stops the local stagings' loopback runtime listener, if one was started. */
  close(): void;
}

/** Wires staging over an open store: buildpack store, executor, stager. */
export function createStaging(d: StagingDeps): Staging {
  const buildpacks = new BuildpackStore(d.store.db, d.store.blobs);
  const runtimes = new RuntimeProvider({ store: new RuntimeStore(join(d.store.dataDir, "runtimes")), download: d.config.staging.runtimes.download, sources: d.config.staging.runtimes.sources });
  const tokens = d.tokenKey ? new RuntimeTokens(d.tokenKey) : null;
  const routes = tokens && d.tokenKey ? runtimeRoutes({ provider: runtimes, tokens, tokenKey: d.tokenKey }) : undefined;
  let loopback: ReturnType<typeof Bun.serve> | undefined;
  const baseUrl =
    d.baseUrl ??
    (routes
      ? () => {
          loopback ??= Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => routes.fetch(req) });
          loopback.unref();
          return `http://127.0.0.1:${loopback.port}`;
        }
      : undefined);
  const executor =
    d.executor ??
    createLocalExecutor({
      workRoot: join(d.store.dataDir, "staging", "work"),
      gzipLevel: d.config.staging.dropletGzipLevel,
      ...(d.config.staging.stackPath ? { path: d.config.staging.stackPath } : {}),
      ...(baseUrl ? { runtimesUrl: () => `${baseUrl().replace(/\/+$/, "")}${RUNTIMES_PREFIX}` } : {}),
    });
  const inner = createStager({
    executor,
    buildpacks,
    blobs: d.store.blobs,
    logSink: d.logSink,
    cacheRoot: join(d.store.dataDir, "staging", "cache"),
    ...(d.logger ? { logger: d.logger } : {}),
    ...(tokens ? { runtimeToken: (guid: string, ttl: number) => tokens.issue(guid, ttl) } : {}),
  });
  const stager: Stager = {
    stage: (req: StagingRequestInput, pkg, opts) => inner.stage({ timeout_ms: d.config.staging.timeoutMs, stack: d.config.staging.defaultStack, ...req }, pkg, opts),
  };
  const close = () => {
    loopback?.stop(true);
    loopback = undefined;
  };
  return { buildpacks, executor, stager, runtimes, close, ...(routes ? { routes } : {}) };
}

/** The appliance part: installs the built-in buildpacks at start (first start adds them). */
export function createStagingPart(d: { store: Pick<Store, "db" | "blobs" | "settings">; logger: Logger; routes?: Hono; close?: () => void }): AppliancePart {
  return {
    name: "st8ge",
    ...(d.routes ? { routes: d.routes } : {}),
    async stop() {
      d.close?.();
    },
    async start() {
      const changed = await installBuiltinBuildpacks(new BuildpackStore(d.store.db, d.store.blobs), d.store.settings);
      if (changed.length > 0) d.logger.info("built-in buildpacks installed", { part: "st8ge", buildpacks: changed.join(",") });
    },
  };
}
