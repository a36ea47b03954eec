import type { StagingRequest } from "../model/index.ts";

/**
 * The environment buildpacks see while staging (DESIGN.md 4): the app's own
 * env vars plus CF_STACK, VCAP_APPLICATION, VCAP_SERVICES and MEMORY_LIMIT.
 * A VCAP_APPLICATION or VCAP_SERVICES the Cloud Controller already put in the
 * request's environment is kept as given.
 */
export function stagingEnv(req: StagingRequest): Record<string, string> {
  for (const [k, v] of Object.entries(req.environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`environment variable name ${JSON.stringify(k)} is not valid`);
    if (v.includes("\0")) throw new Error(`environment variable ${k} holds a NUL byte`);
  }
  const vcapApplication = {
    application_id: req.app_guid,
    application_name: req.app_name,
    application_uris: [],
    application_version: req.staging_guid,
    cf_api: "",
    limits: { mem: req.memory_mb, disk: req.disk_mb, fds: 16384 },
    name: req.app_name,
    organization_id: req.organization_guid,
    organization_name: req.organization_name,
    process_id: req.app_guid,
    process_type: "web",
    space_id: req.space_guid,
    space_name: req.space_name,
    uris: [],
    version: req.staging_guid,
  };
  return {
    ...req.environment,
    CF_STACK: req.stack,
    MEMORY_LIMIT: `${req.memory_mb}m`,
    VCAP_APPLICATION: req.environment.VCAP_APPLICATION ?? JSON.stringify(vcapApplication),
    VCAP_SERVICES: req.environment.VCAP_SERVICES ?? "{}",
  };
}
