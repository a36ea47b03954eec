import { apiLog, apiLogMessage } from "./api-log.ts";
import { recordAudit } from "./audit.ts";
import { afterCommit } from "./write.ts";
import type { CcDeps, CcUser } from "./deps.ts";
import { dockerUnsupported, unprocessable, uniqueness } from "./errors.ts";
import { assertFeatureEnabled } from "./feature-flags.ts";
import { appProcesses, getApp, getDroplet, spaceAndOrg, type AppRow, type ProcessRow } from "./rows.ts";

/**
 * The app lifecycle writes shared by the HTTP handlers and apply_manifest.
 * Each runs inside the caller's transaction; callers announce the change
 * (deps.changed) only after commit, so the Sink never reads half a change.
 */
type D = Pick<CcDeps, "db" | "newGuid" | "stamp" | "config" | "ports" | "clock">;

export const APP_NAME = /^[^\s\u0000-\u001f/\\]{1,255}$/;

/**
 * The one gate for docker lifecycles: the `diego_docker` feature flag first (CF's own answer when an
 * admin turned docker off), then whether the backend can run images at all (OpiBackend.supportsDockerImages).
 */
export function requireDockerSupport(deps: Pick<CcDeps, "ports" | "db">): void {
  assertFeatureEnabled(deps, "diego_docker");
  if (deps.ports.instances.supportsDockerImages !== true) throw dockerUnsupported();
}

/**
 * Checks an app name and names the rule it breaks: at most 255 characters;
 * no whitespace, slashes or control characters; no invisible format
 * characters (zero-width spaces and joiners, bidirectional controls such as
 * U+202E that make a name display as something else).
 */
export function assertAppName(name: string): void {
  if (name.length === 0) throw unprocessable("Name can't be blank");
  if ([...name].length > 255) throw unprocessable("Name is too long (maximum is 255 characters)");
  if (/[\s\p{Cc}/\\]/u.test(name)) throw unprocessable("Name must not contain whitespace, slashes or control characters");
  if (/[\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u.test(name)) {
    throw unprocessable("Name must not contain invisible or bidirectional formatting characters (such as U+200B zero width space or U+202E right-to-left override)");
  }
}

export function actor(u: CcUser) {
  return { guid: u.guid, type: "user", name: u.name };
}

export function appAudit(deps: D, u: CcUser, a: AppRow, type: string, data: Record<string, unknown> = {}): void {
  const { space } = spaceAndOrg(deps.db, a.space_guid);
  recordAudit(deps, { type, actor: actor(u), target: { guid: a.guid, type: "app", name: a.name }, data, space_guid: a.space_guid, organization_guid: space.org_guid });
  const line = apiLogMessage(type, a.guid, data);
  if (line) afterCommit(() => apiLog(deps, a.guid, line));
}

export interface NewApp {
  name: string;
  space_guid: string;
  lifecycle_type: "buildpack" | "docker";
  buildpacks: string[];
  stack: string;
  env: Record<string, string>;
}

export function createApp(deps: D, u: CcUser, input: NewApp): AppRow {
  assertAppName(input.name);
  const dup = deps.db.query("SELECT 1 FROM cc_apps WHERE space_guid = ? AND name = ?").get(input.space_guid, input.name);
  if (dup) throw uniqueness(`App with the name '${input.name}' already exists.`);
  const now = deps.stamp();
  const guid = deps.newGuid();
  deps.db
    .query("INSERT INTO cc_apps (guid, name, space_guid, state, lifecycle_type, buildpacks, stack, env, created_at, updated_at) VALUES (?, ?, ?, 'STOPPED', ?, ?, ?, ?, ?, ?)")
    .run(guid, input.name, input.space_guid, input.lifecycle_type, JSON.stringify(input.buildpacks), input.stack, JSON.stringify(input.env), now, now);
  ensureProcess(deps, guid, "web");
  const app = getApp(deps.db, guid);
  appAudit(deps, u, app, "audit.app.create", { request: { name: input.name } });
  return app;
}

/** The process of a type, created with CF's defaults when missing (web gets 1 instance, others 0). */
export function ensureProcess(deps: D, appGuid: string, type: string): ProcessRow {
  const found = deps.db.query("SELECT * FROM cc_processes WHERE app_guid = ? AND type = ?").get(appGuid, type) as ProcessRow | null;
  if (found) return found;
  const now = deps.stamp();
  const guid = type === "web" ? appGuid : deps.newGuid();
  deps.db
    .query(
      `INSERT INTO cc_processes (guid, app_guid, type, command, instances, memory_in_mb, disk_in_mb, health_check_type, version, created_at, updated_at)
       VALUES (?, ?, ?, NULL, ?, 1024, 1024, ?, ?, ?, ?)`,
    )
    .run(guid, appGuid, type, type === "web" ? 1 : 0, type === "web" ? "port" : "process", deps.newGuid(), now, now);
  return deps.db.query("SELECT * FROM cc_processes WHERE guid = ?").get(guid) as ProcessRow;
}

/** New process versions: the Sink replaces the LRPs (a restart), as CC does on start and droplet change. */
export function bumpVersions(deps: D, appGuid: string): void {
  const now = deps.stamp();
  for (const p of appProcesses(deps.db, appGuid)) {
    deps.db.query("UPDATE cc_processes SET version = ?, updated_at = ? WHERE guid = ?").run(deps.newGuid(), now, p.guid);
  }
}

/** Touch the processes' last-updated stamp (routes, scale): the Sink updates in place. */
export function touchProcesses(deps: D, appGuid: string): void {
  deps.db.query("UPDATE cc_processes SET updated_at = ? WHERE app_guid = ?").run(deps.stamp(), appGuid);
}

export function setState(deps: D, u: CcUser, appGuid: string, state: "STARTED" | "STOPPED", auditType: string): AppRow {
  const app = getApp(deps.db, appGuid);
  if (state === "STARTED" && !app.droplet_guid) throw unprocessable("Assign a droplet before starting this app.");
  deps.db.query("UPDATE cc_apps SET state = ?, updated_at = ? WHERE guid = ?").run(state, deps.stamp(), appGuid);
  if (state === "STARTED") bumpVersions(deps, appGuid);
  else touchProcesses(deps, appGuid);
  const updated = getApp(deps.db, appGuid);
  appAudit(deps, u, updated, auditType);
  return updated;
}

export function setCurrentDroplet(deps: D, u: CcUser, appGuid: string, dropletGuid: string): AppRow {
  const app = getApp(deps.db, appGuid);
  const d = deps.db.query("SELECT * FROM cc_droplets WHERE guid = ?").get(dropletGuid) as ReturnType<typeof getDroplet> | null;
  if (!d || d.app_guid !== appGuid) throw unprocessable("Unable to assign current droplet. Ensure the droplet exists and belongs to this app.");
  if (d.state !== "STAGED") throw unprocessable("Unable to assign current droplet. Ensure the droplet is STAGED.");
  deps.db.query("UPDATE cc_apps SET droplet_guid = ?, updated_at = ? WHERE guid = ?").run(dropletGuid, deps.stamp(), appGuid);
  ensureProcess(deps, appGuid, "web");
  for (const type of Object.keys(JSON.parse(d.process_types) as Record<string, string>)) ensureProcess(deps, appGuid, type);
  bumpVersions(deps, appGuid);
  appAudit(deps, u, app, "audit.app.droplet.mapped", { request: { droplet_guid: dropletGuid } });
  return getApp(deps.db, appGuid);
}
