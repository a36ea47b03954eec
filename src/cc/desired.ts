import { cpuWeight, type LRP, processGuid } from "../model/index.ts";
import type { CcDeps } from "./deps.ts";
import { lrpAnnotations } from "./metadata.ts";
import { parsePlacementTags, SCHEDULING_KEYS } from "../opi/index.ts";
import type { AppRow, DropletRow, OrgRow, ProcessRow, SpaceRow } from "./rows.ts";
import { vcapApplication } from "./vcap.ts";
import { envVarGroup } from "./env-var-groups.ts";

/**
 * Desired state for the Sink: one LRP per process of every STARTED app with
 * a current droplet. `version` is the process version (new on start,
 * restart, droplet or command change: the Sink replaces the LRP);
 * `last_updated` moves on any change (scale, routes, env: updated in place).
 * `user_defined_annotations` are the space's metadata annotations overlaid
 * by the app's; a change to them bumps the version (metadata-update.ts), so
 * new scheduling hints roll the pods.
 * Built with a handful of bulk queries so a 10,000-process pass stays cheap.
 */
export function desiredProcesses(deps: Pick<CcDeps, "db" | "baseUrl">, appGuid?: string): LRP[] {
  const db = deps.db;
  // One app (a nudge) or all of them (a full pass): the same queries, narrowed.
  const onlyApp = appGuid === undefined ? "" : " AND a.guid = $app";
  const args: Record<string, string> = appGuid === undefined ? {} : { app: appGuid };
  const procs = db
    .query(
      `SELECT p.* FROM cc_processes p JOIN cc_apps a ON a.guid = p.app_guid
       WHERE a.state = 'STARTED' AND a.droplet_guid IS NOT NULL${onlyApp} ORDER BY p.app_guid, p.type`,
    )
    .all(args) as ProcessRow[];
  if (procs.length === 0) return [];
  const apps = byGuid(db.query(`SELECT * FROM cc_apps a WHERE a.state = 'STARTED' AND a.droplet_guid IS NOT NULL${onlyApp}`).all(args) as AppRow[]);
  const spaces = byGuid(db.query("SELECT * FROM cc_spaces").all() as SpaceRow[]);
  const orgs = byGuid(db.query("SELECT * FROM cc_orgs").all() as OrgRow[]);
  const droplets = byGuid(
    db.query(`SELECT d.* FROM cc_droplets d JOIN cc_apps a ON a.droplet_guid = d.guid WHERE a.state = 'STARTED'${onlyApp}`).all(args) as DropletRow[],
  );
  const hosts = new Map<string, string[]>();
  const routeRows = db
    .query(
      `SELECT dst.app_guid, dst.process_type, r.host, r.path, d.name AS domain FROM cc_destinations dst
       JOIN cc_routes r ON r.guid = dst.route_guid JOIN cc_domains d ON d.guid = r.domain_guid${appGuid === undefined ? "" : " WHERE dst.app_guid = $app"}`,
    )
    .all(args) as { app_guid: string; process_type: string; host: string; path: string; domain: string }[];
  for (const r of routeRows) {
    const key = `${r.app_guid}/${r.process_type}`;
    const list = hosts.get(key) ?? [];
    // A route with a path is "host.domain/path", as CF's route emitter hands it to the router.
    const hostname = `${r.host ? `${r.host}.${r.domain}` : r.domain}${r.path}`;
    if (!list.includes(hostname)) list.push(hostname);
    hosts.set(key, list);
  }
  const cfApi = deps.baseUrl();
  const runningGroup = envVarGroup(deps, "running");
  const out: LRP[] = [];
  for (const p of procs) {
    const a = apps.get(p.app_guid);
    const d = a?.droplet_guid ? droplets.get(a.droplet_guid) : undefined;
    const space = a ? spaces.get(a.space_guid) : undefined;
    const org = space ? orgs.get(space.org_guid) : undefined;
    if (!a || !d || !space || !org || d.state !== "STAGED") continue;
    out.push(toLrp(a, p, d, space, org, hosts.get(`${a.guid}/${p.type}`) ?? [], cfApi, runningGroup));
  }
  return out;
}

/**
 * The full pass's lean listing: exactly the processes `desiredProcesses`
 * yields (same filters; in table order, as an ORDER BY over the index halves
 * the speed at 10,000 processes), as LRP process_guid, app and stamp.
 */
export function desiredStamps(deps: Pick<CcDeps, "db">): { process_guid: string; app_guid: string; last_updated: string }[] {
  return deps.db
    .query(
      `SELECT p.guid || '-' || p.version AS process_guid, p.app_guid, MAX(a.updated_at, p.updated_at) AS last_updated
       FROM cc_processes p JOIN cc_apps a ON a.guid = p.app_guid JOIN cc_droplets d ON d.guid = a.droplet_guid
       JOIN cc_spaces s ON s.guid = a.space_guid JOIN cc_orgs o ON o.guid = s.org_guid
       WHERE a.state = 'STARTED' AND d.state = 'STAGED'`,
    )
    .all() as { process_guid: string; app_guid: string; last_updated: string }[];
}

function byGuid<T extends { guid: string }>(rows: T[]): Map<string, T> {
  return new Map(rows.map((r) => [r.guid, r]));
}

/** What a process runs: the user's command, else the one detected at staging (Procfile or buildpack). */
export function startCommand(p: Pick<ProcessRow, "command" | "type">, d: Pick<DropletRow, "process_types" | "start_command">): string {
  if (p.command) return p.command;
  const types = JSON.parse(d.process_types) as Record<string, string>;
  return types[p.type] ?? (p.type === "web" ? d.start_command : "");
}

export function toLrp(a: AppRow, p: ProcessRow, d: DropletRow, space: SpaceRow, org: OrgRow, hostnames: string[], cfApi: string, runningGroup: Record<string, string> = {}): LRP {
  // The running environment variable group first: the app's own variables win (env-var-groups.ts).
  const env: Record<string, string> = {
    ...runningGroup,
    ...(JSON.parse(a.env) as Record<string, string>),
    VCAP_APPLICATION: JSON.stringify(vcapApplication(a, space, org, hostnames, cfApi, p)),
    VCAP_SERVICES: "{}",
    MEMORY_LIMIT: `${p.memory_in_mb}m`,
  };
  const command = startCommand(p, d);
  const lifecycle: LRP["lifecycle"] =
    d.lifecycle_type === "docker"
      ? { docker_lifecycle: { image: d.docker_image ?? "", command: command ? ["/bin/sh", "-c", command] : [] } }
      : { buildpack_lifecycle: { droplet_guid: d.guid, droplet_hash: d.hash ?? "", start_command: command } };
  const updated = a.updated_at > p.updated_at ? a.updated_at : p.updated_at;
  const annotations = lrpAnnotations(space, a);
  return {
    guid: p.guid,
    version: p.version,
    process_guid: processGuid(p.guid, p.version),
    process_type: p.type,
    app_guid: a.guid,
    app_name: a.name,
    space_guid: space.guid,
    space_name: space.name,
    organization_guid: org.guid,
    organization_name: org.name,
    environment: env,
    instances: p.instances,
    memory_mb: p.memory_in_mb,
    disk_mb: p.disk_in_mb,
    cpu_weight: cpuWeight(p.memory_in_mb),
    ports: [8080],
    routes: hostnames.length ? { "cf-router": hostnames.map((hostname) => ({ hostname, port: 8080 })) } : {},
    health_check_type: p.health_check_type as LRP["health_check_type"],
    health_check_http_endpoint: p.health_check_endpoint ?? "/",
    health_check_timeout_ms: (p.health_check_invocation_timeout ?? 1) * 1000,
    start_timeout_ms: (p.health_check_timeout ?? 60) * 1000,
    placement_tags: placementTags(annotations),
    volume_mounts: [],
    user_defined_annotations: annotations,
    last_updated: updated,
    lifecycle,
  };
}

/**
 * Placement tags from the `placement-tags` scheduling annotation (checked when
 * set). Should a stored value ever fail the rules, the listing still goes on:
 * the backend rejects that one LRP on the annotation itself, visibly.
 */
function placementTags(annotations: Record<string, string>): string[] {
  const raw = annotations[SCHEDULING_KEYS.placementTags];
  if (!raw) return [];
  try {
    return parsePlacementTags(raw);
  } catch {
    return [];
  }
}

/** The LRP for one LRP process_guid (`<guid>-<version>`), or null when it should not run. */
export function desiredProcess(deps: Pick<CcDeps, "db" | "baseUrl">, lrpProcessGuid: string): LRP | null {
  // Split at each '-' and look the guid up by primary key (matching on `guid || '-' || version` scanned every process per nudge).
  const byGuid = deps.db.query("SELECT app_guid, version FROM cc_processes WHERE guid = ?");
  let p: { app_guid: string } | null = null;
  for (let i = lrpProcessGuid.indexOf("-"); i > 0 && !p; i = lrpProcessGuid.indexOf("-", i + 1)) {
    const row = byGuid.get(lrpProcessGuid.slice(0, i)) as { app_guid: string; version: string } | null;
    if (row && row.version === lrpProcessGuid.slice(i + 1)) p = row;
  }
  if (!p) return null;
  return desiredProcesses(deps, p.app_guid).find((l) => l.process_guid === lrpProcessGuid) ?? null;
}
