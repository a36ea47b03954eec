import type { Database } from "bun:sqlite";
import { notFound } from "./errors.ts";
import type { MetadataColumns } from "./metadata.ts";

/** Row shapes of the cc_* tables (migrations 0005, 0008 for metadata) and lookups that 404 in CF's words. */
export interface OrgRow extends MetadataColumns { guid: string; name: string; created_at: string; updated_at: string }
export interface SpaceRow extends MetadataColumns { guid: string; name: string; org_guid: string; created_at: string; updated_at: string }
export interface AppRow extends MetadataColumns {
  guid: string; name: string; space_guid: string; state: "STARTED" | "STOPPED"; lifecycle_type: "buildpack" | "docker";
  buildpacks: string; stack: string; env: string; droplet_guid: string | null; created_at: string; updated_at: string;
  /** 1 when the app's `ssh` feature is on (migration 0012). */
  enable_ssh: number;
}
export interface PackageRow {
  guid: string; app_guid: string; type: "bits" | "docker"; state: string; blob_digest: string | null; docker_image: string | null;
  error: string | null; created_at: string; updated_at: string;
}
export interface DropletRow {
  guid: string; app_guid: string; package_guid: string | null; state: string; error: string | null; lifecycle_type: string;
  hash: string | null; docker_image: string | null; stack: string; detected_buildpack: string; buildpack_name: string;
  start_command: string; process_types: string; created_at: string; updated_at: string;
}
export interface BuildRow {
  guid: string; app_guid: string; package_guid: string; state: string; error: string | null; droplet_guid: string | null;
  lifecycle_type: string; buildpacks: string; stack: string; staging_memory_in_mb: number; staging_disk_in_mb: number;
  created_by_guid: string; created_by_name: string; created_at: string; updated_at: string;
}
export interface ProcessRow extends MetadataColumns {
  guid: string; app_guid: string; type: string; command: string | null; instances: number; memory_in_mb: number; disk_in_mb: number;
  health_check_type: string; health_check_endpoint: string | null; health_check_timeout: number | null;
  health_check_invocation_timeout: number | null; version: string; created_at: string; updated_at: string;
}
export interface DomainRow { guid: string; name: string; internal: number; created_at: string; updated_at: string; /** Owning org of a private domain (migration 0011); null or absent for shared. */ org_guid?: string | null }
export interface RouteRow extends MetadataColumns { guid: string; host: string; path: string; domain_guid: string; space_guid: string; created_at: string; updated_at: string }
export interface DestinationRow { guid: string; route_guid: string; app_guid: string; process_type: string; port: number; created_at: string }
export interface TaskRow {
  guid: string; app_guid: string; name: string; command: string; state: string; sequence_id: number; memory_in_mb: number;
  disk_in_mb: number; droplet_guid: string; failure_reason: string | null; created_at: string; updated_at: string;
}
export interface AuditRow {
  guid: string; type: string; actor_guid: string; actor_type: string; actor_name: string; target_guid: string; target_type: string;
  target_name: string; data: string; space_guid: string; organization_guid: string; created_at: string; seq: number;
}
export interface JobRow { guid: string; operation: string; state: string; errors: string; warnings: string; created_at: string; updated_at: string }

function one<T>(db: Database, table: string, guid: string): T | null {
  return db.query(`SELECT * FROM ${table} WHERE guid = ?`).get(guid) as T | null;
}

function must<T>(row: T | null, what: string): T {
  if (!row) throw notFound(what);
  return row;
}

export const findOrg = (db: Database, guid: string) => one<OrgRow>(db, "cc_orgs", guid);
export const findSpace = (db: Database, guid: string) => one<SpaceRow>(db, "cc_spaces", guid);
export const findApp = (db: Database, guid: string) => one<AppRow>(db, "cc_apps", guid);
export const findDroplet = (db: Database, guid: string) => one<DropletRow>(db, "cc_droplets", guid);
export const findProcess = (db: Database, guid: string) => one<ProcessRow>(db, "cc_processes", guid);

export const getOrg = (db: Database, guid: string) => must(findOrg(db, guid), "Organization");
export const getSpace = (db: Database, guid: string) => must(findSpace(db, guid), "Space");
export const getApp = (db: Database, guid: string) => must(findApp(db, guid), "App");
export const getPackage = (db: Database, guid: string) => must(one<PackageRow>(db, "cc_packages", guid), "Package");
export const getDroplet = (db: Database, guid: string) => must(findDroplet(db, guid), "Droplet");
export const getBuild = (db: Database, guid: string) => must(one<BuildRow>(db, "cc_builds", guid), "Build");
export const getProcess = (db: Database, guid: string) => must(one<ProcessRow>(db, "cc_processes", guid), "Process");
export const getDomain = (db: Database, guid: string) => must(one<DomainRow>(db, "cc_domains", guid), "Domain");
export const getRoute = (db: Database, guid: string) => must(one<RouteRow>(db, "cc_routes", guid), "Route");
export const getTask = (db: Database, guid: string) => must(one<TaskRow>(db, "cc_tasks", guid), "Task");
export const getJob = (db: Database, guid: string) => must(one<JobRow>(db, "cc_jobs", guid), "Job");

export function appProcesses(db: Database, appGuid: string): ProcessRow[] {
  return db.query("SELECT * FROM cc_processes WHERE app_guid = ? ORDER BY type").all(appGuid) as ProcessRow[];
}

export function appProcess(db: Database, appGuid: string, type: string): ProcessRow {
  return must(db.query("SELECT * FROM cc_processes WHERE app_guid = ? AND type = ?").get(appGuid, type) as ProcessRow | null, "Process");
}

/** The app's web process, when it has one (CF's default process for env, staging and tasks). */
export function webProcess(db: Database, appGuid: string): ProcessRow | null {
  return db.query("SELECT * FROM cc_processes WHERE app_guid = ? AND type = 'web'").get(appGuid) as ProcessRow | null;
}

/** Space and its org, for names in events, VCAP_APPLICATION and LRPs. */
export function spaceAndOrg(db: Database, spaceGuid: string): { space: SpaceRow; org: OrgRow } {
  const space = getSpace(db, spaceGuid);
  return { space, org: getOrg(db, space.org_guid) };
}
