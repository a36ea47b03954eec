import type { AppRow, OrgRow, ProcessRow, SpaceRow } from "./rows.ts";

/**
 * VCAP_APPLICATION as CF renders it for an app (DESIGN.md 4), for instances,
 * staging, tasks and `cf env`. `limits` are those of what runs: the process
 * (instances, `cf env`: the web process), or the staging/task memory and disk
 * when given, never a made-up default while a process says otherwise.
 */
export function vcapApplication(a: AppRow, space: SpaceRow, org: OrgRow, uris: string[], cfApi: string, proc?: ProcessRow, limits?: { mem: number; disk: number }) {
  return {
    application_id: a.guid,
    application_name: a.name,
    application_uris: uris,
    application_version: proc?.version ?? a.guid,
    cf_api: cfApi,
    limits: { mem: limits?.mem ?? proc?.memory_in_mb ?? 1024, disk: limits?.disk ?? proc?.disk_in_mb ?? 1024, fds: 16384 },
    name: a.name,
    organization_id: org.guid,
    organization_name: org.name,
    process_id: proc?.guid ?? a.guid,
    process_type: proc?.type ?? "web",
    space_id: space.guid,
    space_name: space.name,
    uris,
    version: proc?.version ?? a.guid,
  };
}
