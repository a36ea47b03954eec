/**
 * Label and annotation keys on the objects this backend owns (DESIGN.md 6).
 * Labels select; annotations carry what does not fit a label value (the
 * full process guid, routes, the desired LRP itself).
 */
export const LABEL = {
  guid: "cloudfoundry.org/guid",
  version: "cloudfoundry.org/version",
  appGuid: "cloudfoundry.org/app_guid",
  processType: "cloudfoundry.org/process_type",
  sourceType: "cloudfoundry.org/source_type",
  taskGuid: "cloudfoundry.org/task_guid",
  stagingGuid: "cloudfoundry.org/staging_guid",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

export const ANNOTATION = {
  processGuid: "cloudfoundry.org/process_guid",
  appName: "cloudfoundry.org/application_name",
  spaceName: "cloudfoundry.org/space_name",
  orgName: "cloudfoundry.org/org_name",
  routes: "cloudfoundry.org/routes",
  lastUpdated: "cloudfoundry.org/last_updated",
  /** The desired LRP the pod template was built from (JSON). */
  lrp: "cloudfoundry.org/lrp",
  taskGuid: "cloudfoundry.org/task_guid",
  taskName: "cloudfoundry.org/task_name",
  appGuid: "cloudfoundry.org/app_guid",
  routeHost: "cloudfoundry.org/route_host",
  routePort: "cloudfoundry.org/route_port",
  stagingGuid: "cloudfoundry.org/staging_guid",
  /** On app and task pods: CF's log rate limit in bytes per second (absent = unlimited), enforced where pod logs are read. */
  logRateLimit: "cloudfoundry.org/log_rate_limit",
} as const;

export const SOURCE = { app: "APP", task: "TASK", staging: "STG" } as const;
export const MANAGED_BY = "eirini";
export const APP_CONTAINER = "opi";
