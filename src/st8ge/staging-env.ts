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
  const vcapServices = req.environment.VCAP_SERVICES ?? "{}";
  const databaseUrl = databaseUrlOf(vcapServices);
  return {
    ...req.environment,
    // Diego's builder sets DATABASE_URL from the first bound service whose credentials.uri is MySQL or PostgreSQL.
    ...(databaseUrl && !req.environment.DATABASE_URL ? { DATABASE_URL: databaseUrl } : {}),
    CF_STACK: req.stack,
    MEMORY_LIMIT: `${req.memory_mb}m`,
    VCAP_APPLICATION: req.environment.VCAP_APPLICATION ?? JSON.stringify(vcapApplication),
    VCAP_SERVICES: vcapServices,
  };
}

const DB_SCHEMES: Record<string, string> = { mysql: "mysql2", mysql2: "", postgres: "", postgresql: "postgres" };

/** buildpackapplifecycle's databaseuri: mysql -> mysql2, postgresql -> postgres, others ignored. */
export function databaseUrlOf(vcapServices: string): string {
  let data: unknown;
  try {
    data = JSON.parse(vcapServices);
  } catch {
    return "";
  }
  if (!data || typeof data !== "object") return "";
  const uris: string[] = [];
  for (const list of Object.values(data as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    for (const svc of list) {
      const uri = (svc as { credentials?: { uri?: unknown } } | null)?.credentials?.uri;
      if (typeof uri === "string" && uri) uris.push(uri);
    }
  }
  for (const uri of uris) {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(uri);
    if (!m) continue;
    const mapped = DB_SCHEMES[m[1]!];
    if (mapped === undefined) continue;
    return `${mapped || m[1]}:${m[2]}`;
  }
  return "";
}
