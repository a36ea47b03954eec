/**
 * Embedded Cloud Controller contract: a CF V3 API faithful enough for the
 * stock cf CLI (v7/v8), a UAA-compatible token endpoint under `/uaa`, and a
 * log-cache read API under `/api/v1`, served as one AppliancePart.
 *
 * Needs (ports, wired in src/cli/parts.ts): a Stager (st8ge), an
 * InstancesReader and TaskRunner (OPI), and the app log store. Offers the
 * Sink its desired-state source (`desiredProcesses()`, `onDesiredChange()`)
 * and takes OPI's events back (`recordCrash`, `recordTaskCompletion`).
 * CF V3 metadata (labels, annotations; migration 0008) on orgs, spaces,
 * apps, processes and routes; app and space annotations become the LRP's
 * `user_defined_annotations` (scheduling hints, validated at PATCH).
 * State lives in the cc_* tables (migration 0005); every write commits
 * before the answer and before the Sink hears about it.
 */
import { Hono } from "hono";
import { deriveKey } from "../auth/index.ts";
import type { AppliancePart, PartContext } from "../part/index.ts";
import type { InstanceCrashed, LRP, TaskCompleted } from "../model/index.ts";
import { auditRoutes } from "./audit.ts";
import { appRoutes } from "./apps.ts";
import { appFeatureRoutes } from "./app-features.ts";
import { appManifestRoutes } from "./app-manifest.ts";
import { ccBodyLimits } from "./body.ts";
import { buildRoutes } from "./builds.ts";
import { systemClock, randomGuid, type Clock, type NewGuid } from "./clock.ts";
import { recordCrash } from "./crashes.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { desiredProcess, desiredProcesses, desiredStamps } from "./desired.ts";
import { CfApiError, renderError } from "./errors.ts";
import { jobRoutes } from "./jobs.ts";
import { logCacheRoutes } from "./log-cache.ts";
import { manifestRoutes } from "./manifest.ts";
import { orgSpaceRoutes, seedDefaults } from "./orgs-spaces.ts";
import type { CcPorts, DesiredChange, DesiredStateSource } from "./ports.ts";
import { processRoutes } from "./processes.ts";
import { packageRoutes } from "./packages.ts";
import { rootRoutes } from "./root.ts";
import { routeRoutes } from "./routes.ts";
import { stackRoutes } from "./stacks.ts";
import { StagingRunner } from "./staging.ts";
import { recordTaskCompletion, taskRoutes } from "./tasks.ts";
import { authenticate, uaaRoutes } from "./uaa.ts";
import { buildpackRoutes } from "./buildpacks.ts";
import { DomainNames, domainRoutes } from "./domains.ts";
import { envVarGroupRoutes } from "./env-var-groups.ts";
import { featureFlagRoutes } from "./feature-flags.ts";
import { quotaRoutes } from "./quotas.ts";
import { roleRoutes } from "./roles.ts";
import { securityGroupRoutes } from "./security-groups.ts";
import { serviceRoutes } from "./services.ts";
import { usageEventRoutes } from "./usage-events.ts";
import { isCfV2Path, v2Routes } from "./v2.ts";

export type { CcPorts, Stager, StagingHandle, InstancesReader, TaskRunner, CcLogStore, StoredLog, DesiredChange, DesiredStateSource } from "./ports.ts";
export { CfApiError } from "./errors.ts";
export { CC_API_VERSION } from "./root.ts";
export { DEFAULT_ORG, DEFAULT_SPACE } from "./orgs-spaces.ts";

export interface CloudControllerOptions {
  clock?: Clock;
  newGuid?: NewGuid;
}

export interface CloudControllerPart extends AppliancePart, DesiredStateSource {
  routes: Hono;
  /** Sink's DesiredStateSource (src/sink/source.ts): the whole desired list. */
  desiredLRPs(): LRP[];
  /** Sink's DesiredStateSource, lean: the same processes as `desiredLRPs()`, only process_guid and last_updated. */
  desiredStamps(): { process_guid: string; last_updated: string }[];
  /** Sink's DesiredStateSource: the LRP for one LRP process_guid, null when it should not run. */
  desiredLRP(processGuid: string): LRP | null;
  /**
   * Sink's DesiredStateSource: after each committed change, the LRP
   * process_guids to re-converge (old and new versions of the changed app),
   * or nothing when CC cannot tell (then the Sink does a full pass).
   */
  onChange(listener: (processGuids?: string[]) => void): () => void;
  /** An OPI crash event: audit event + log line. False when the process is unknown. */
  recordCrash(event: InstanceCrashed): boolean;
  /** An OPI task completion: task state SUCCEEDED/FAILED. */
  recordTaskCompletion(event: TaskCompleted): void;
  /** Resolves once no staging is in flight (tests, shutdown). */
  stagingIdle(): Promise<void>;
  /** Every domain's name (cached): the router claims hosts under them. */
  routeDomains(): readonly string[];
}

/**
 * Builds the Cloud Controller part. Example:
 * `const cc = createCloudControllerPart({ ...ctx, ports: { stager, instances: opi, tasks: opi, logs: store.logs } })`.
 */
export function createCloudControllerPart(ctx: PartContext & { ports: CcPorts }, opts: CloudControllerOptions = {}): CloudControllerPart {
  const clock = opts.clock ?? systemClock;
  const listeners = new Set<(c: DesiredChange) => void>();
  const keyListeners = new Set<(keys?: string[]) => void>();
  // LRP process_guids last handed out per app, so a change can name the old versions to stop too.
  const announced = new Map<string, Set<string>>();
  // True once a full listing filled `announced` and every change since kept it current: an app missing from it then had no LRPs.
  let listed = false;
  const log = ctx.logger.child({ part: "cc" });
  const newest = ctx.store.db.query("SELECT MAX(updated_at) AS at FROM cc_processes").get() as { at: string | null } | null;
  let lastStamp = newest?.at ? Date.parse(newest.at) : 0;
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.warn("desired-change listener failed", { error: err });
    }
  };
  const deps: CcDeps = {
    db: ctx.store.db,
    blobs: ctx.store.blobs,
    config: ctx.config,
    logger: log,
    clock,
    newGuid: opts.newGuid ?? randomGuid,
    ports: ctx.ports,
    baseUrl: ctx.baseUrl,
    uaaKey: deriveKey(ctx.tokenKey, "uaa"),
    // Strictly increasing, so two changes in one millisecond still give the Sink a new last_updated.
    stamp() {
      lastStamp = Math.max(clock.now().getTime(), lastStamp + 1);
      return new Date(lastStamp).toISOString();
    },
    changed(change) {
      for (const l of listeners) safely(() => l(change));
      if (keyListeners.size === 0) {
        listed = false;
        return;
      }
      const now = desiredProcesses(deps, change.app_guid).map((l) => l.process_guid);
      // A new app's first change names its keys too, instead of costing the Sink a full pass over every process.
      const before = announced.get(change.app_guid) ?? (listed ? new Set<string>() : undefined);
      announced.set(change.app_guid, new Set(now));
      const keys = before ? [...new Set([...before, ...now])] : undefined;
      for (const l of keyListeners) safely(() => l(keys));
    },
  };
  // A full listing (either form) is the whole truth: remember which LRPs each app has, for later nudges.
  const announce = <T extends { app_guid: string; process_guid: string }>(all: T[]): T[] => {
    announced.clear();
    for (const l of all) {
      const set = announced.get(l.app_guid) ?? new Set<string>();
      set.add(l.process_guid);
      announced.set(l.app_guid, set);
    }
    listed = true;
    return all;
  };
  const keys = { access: deps.uaaKey, refresh: deriveKey(ctx.tokenKey, "uaa-refresh") };
  const nowSec = () => Math.floor(clock.now().getTime() / 1000);
  const staging = new StagingRunner(deps);
  seedDefaults(deps);
  const domainNames = new DomainNames(deps);

  const app = new Hono<CcEnv>();
  app.onError((err, c) => renderError(err, c, (e) => log.error("request failed", { method: c.req.method, path: c.req.path, error: e })));
  app.use("/v3/*", async (c, next) => {
    const path = c.req.path.replace(/\/+$/, "");
    if (path !== "/v3" && path !== "/v3/info") c.set("user", authenticate(c.req.header("authorization"), ctx.store.users, deps.uaaKey, nowSec(), c.req.method, ctx.store.tokens));
    await next();
  });
  app.use("/api/v1/read/*", async (c, next) => {
    c.set("user", authenticate(c.req.header("authorization"), ctx.store.users, deps.uaaKey, nowSec(), "GET", ctx.store.tokens));
    await next();
  });
  for (const sub of [
    // Platform resources first: domains.ts answers the domain reads routes.ts and orgs-spaces.ts also define.
    domainRoutes(deps, domainNames), featureFlagRoutes(deps), envVarGroupRoutes(deps), buildpackRoutes(deps), quotaRoutes(deps), securityGroupRoutes(deps),
    serviceRoutes(deps), roleRoutes(deps), usageEventRoutes(deps), v2Routes(deps, (h, method) => void authenticate(h, ctx.store.users, deps.uaaKey, nowSec(), method)),
    rootRoutes(deps), uaaRoutes(deps, ctx.store.users, ctx.store.tokens, keys, nowSec), orgSpaceRoutes(deps), appRoutes(deps), processRoutes(deps),
    packageRoutes(deps), buildRoutes(deps, staging), routeRoutes(deps), taskRoutes(deps), manifestRoutes(deps), auditRoutes(deps),
    jobRoutes(deps), stackRoutes(deps), logCacheRoutes(deps, clock.now().getTime()),
    appFeatureRoutes(deps), appManifestRoutes(deps),
  ]) {
    app.route("/", sub);
  }
  app.all("/v3/*", () => {
    throw new CfApiError(404, 10000, "CF-NotFound", "Unknown request");
  });

  return {
    name: "cc",
    routes: app as unknown as Hono,
    // The CF V2 paths the cf CLI calls share `/v2/` with the image registry: claim exactly those (v2.ts) before the registry's routes see them.
    frontDoor: (req) => (isCfV2Path(new URL(req.url).pathname) ? app.fetch(req) : undefined),
    bodyLimits: ccBodyLimits(ctx.config),
    desiredProcesses: (): LRP[] => desiredProcesses(deps),
    desiredLRPs(): LRP[] {
      return announce(desiredProcesses(deps));
    },
    desiredStamps() {
      return announce(desiredStamps(deps));
    },
    desiredLRP: (processGuid: string) => desiredProcess(deps, processGuid),
    onChange(listener) {
      keyListeners.add(listener);
      return () => keyListeners.delete(listener);
    },
    onDesiredChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recordCrash: (e) => recordCrash(deps, e),
    recordTaskCompletion: (e) => recordTaskCompletion(deps, e),
    stagingIdle: () => staging.idle(),
    routeDomains: () => domainNames.list(),
    async start() {
      staging.failInterrupted();
    },
    async stop() {
      await staging.stop();
      listeners.clear();
      keyListeners.clear();
    },
  };
}
