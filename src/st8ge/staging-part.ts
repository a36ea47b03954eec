import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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
   * Where the local executor's stagings reach the runtime routes over TCP.
   * Default: none; they use a unix socket of their own (EIRINI_RUNTIMES_SOCKET).
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
  /** Stops the local stagings' runtime socket listener, if one was started. */
  close(): void;
}

/** Wires staging over an open store: buildpack store, executor, stager. */
export function createStaging(d: StagingDeps): Staging {
  const buildpacks = new BuildpackStore(d.store.db, d.store.blobs);
  const runtimes = new RuntimeProvider({ store: new RuntimeStore(join(d.store.dataDir, "runtimes")), download: d.config.staging.runtimes.download, sources: d.config.staging.runtimes.sources });
  const tokens = d.tokenKey ? new RuntimeTokens(d.tokenKey) : null;
  const routes = tokens && d.tokenKey ? runtimeRoutes({ provider: runtimes, tokens, tokenKey: d.tokenKey }) : undefined;
  // Local stagings (a process group, or a container with this socket's directory bind-mounted) reach
  // the runtime routes on a unix socket of their own: no TCP port, no TLS, no container network in the way.
  let listener: ReturnType<typeof Bun.serve> | undefined;
  const sockDir = (() => {
    const inData = join(d.store.dataDir, "staging", "rt");
    // A unix socket path must fit in 108 bytes.
    return inData.length < 90 ? inData : join(tmpdir(), `eirini-rt-${new Bun.CryptoHasher("sha256").update(d.store.dataDir).digest("hex").slice(0, 16)}`);
  })();
  const sockPath = join(sockDir, "runtimes.sock");
  const runtimeEnv = routes
    ? () => {
        if (!listener) {
          mkdirSync(sockDir, { recursive: true, mode: 0o755 });
          chmodSync(sockDir, 0o755);
          rmSync(sockPath, { force: true });
          listener = Bun.serve({ unix: sockPath, fetch: (req) => routes.fetch(req) });
          listener.unref();
          // Buildpacks in containers run as vcap; the token, not the socket's mode, guards the routes.
          chmodSync(sockPath, 0o666);
        }
        return { EIRINI_RUNTIMES_SOCKET: sockPath };
      }
    : undefined;
  const baseUrl = d.baseUrl;
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
    ...(runtimeEnv && !baseUrl ? { runtimeEnv } : {}),
  });
  const stager: Stager = {
    stage: (req: StagingRequestInput, pkg, opts) => inner.stage({ timeout_ms: d.config.staging.timeoutMs, stack: d.config.staging.defaultStack, ...req }, pkg, opts),
  };
  const close = () => {
    listener?.stop(true);
    listener = undefined;
    rmSync(sockPath, { force: true });
  };
  return { buildpacks, executor, stager, runtimes, close, ...(routes ? { routes } : {}) };
}

/** The appliance part: installs the built-in buildpacks at start (first start adds them). */
export function createStagingPart(d: { store: Pick<Store, "db" | "blobs" | "settings">; logger: Logger; routes?: Hono; close?: () => void }): AppliancePart {
  return {
    name: "st8ge",
    ...(d.routes ? { routes: d.routes } : {}),
    // Offline runtime archives (the admin API of `eirini runtimes add`) are large: node, python and go together are 100s of MB.
    bodyLimits: [{ method: "POST", path: /^\/st8ge\/runtimes$/, maxBytes: 16 * 1024 ** 3 }],
    async stop() {
      d.close?.();
    },
    async start() {
      const changed = await installBuiltinBuildpacks(new BuildpackStore(d.store.db, d.store.blobs), d.store.settings);
      if (changed.length > 0) d.logger.info("built-in buildpacks installed", { part: "st8ge", buildpacks: changed.join(",") });
    },
  };
}
