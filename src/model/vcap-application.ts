import type { LRP } from "./lrp.ts";
import type { Task } from "./task.ts";

/** Route hostnames of an LRP, as `application_uris` lists them. */
export function routeUris(lrp: LRP): string[] {
  return Object.values(lrp.routes).flatMap((rs) => rs.map((r) => r.hostname));
}

/** `VCAP_APPLICATION` of an LRP's instances (DESIGN.md 4); backends add instance fields. */
export function vcapApplicationOfLRP(lrp: LRP, cfApi: string): Record<string, unknown> {
  const uris = routeUris(lrp);
  return {
    application_id: lrp.app_guid,
    application_name: lrp.app_name,
    application_uris: uris,
    application_version: lrp.version,
    cf_api: cfApi,
    limits: { mem: lrp.memory_mb, disk: lrp.disk_mb, fds: 16384 },
    name: lrp.app_name,
    organization_id: lrp.organization_guid,
    organization_name: lrp.organization_name,
    process_id: lrp.guid,
    process_type: lrp.process_type,
    space_id: lrp.space_guid,
    space_name: lrp.space_name,
    uris,
    version: lrp.version,
  };
}

/** `VCAP_APPLICATION` of a task: the app's identity, no routes. */
export function vcapApplicationOfTask(task: Task, cfApi: string): Record<string, unknown> {
  return {
    application_id: task.app_guid,
    application_name: task.app_name,
    application_uris: [],
    cf_api: cfApi,
    limits: { mem: task.memory_mb, disk: task.disk_mb, fds: 16384 },
    name: task.app_name,
    organization_id: task.organization_guid,
    organization_name: task.organization_name,
    space_id: task.space_guid,
    space_name: task.space_name,
    uris: [],
  };
}
