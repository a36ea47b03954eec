import { envVarGroup } from "./env-var-groups.ts";
import type { StagingRequest, StagingResult } from "../model/index.ts";
import { appAudit } from "./app-state.ts";
import type { CcDeps } from "./deps.ts";
import { getApp, getBuild, getPackage, spaceAndOrg, webProcess, type BuildRow } from "./rows.ts";
import type { StagingHandle } from "./ports.ts";
import { appHostnames } from "./routes.ts";
import { vcapApplication } from "./vcap.ts";
import { write } from "./write.ts";

/**
 * Runs builds through the Stager port, off the request path: the build row
 * is STAGING when `POST /v3/builds` answers; the outcome (STAGED with a
 * droplet, or FAILED with CF's "StagingError - ..." text) is written when
 * the stager settles. Staging output goes to the log store as STG lines.
 */
export class StagingRunner {
  private readonly running = new Map<string, { app: string; handle: StagingHandle }>();
  private readonly settled = new Set<Promise<void>>();

  constructor(private readonly deps: CcDeps) {}

  /** Builds left STAGING by a previous run can never finish: fail them (crash recovery). */
  failInterrupted(): void {
    this.deps.db.query("UPDATE cc_builds SET state = 'FAILED', error = 'StagingError - staging was interrupted by an appliance restart', updated_at = ? WHERE state = 'STAGING'").run(this.deps.stamp());
  }

  start(build: BuildRow): void {
    const deps = this.deps;
    const app = getApp(deps.db, build.app_guid);
    const pkg = getPackage(deps.db, build.package_guid);
    const { space, org } = spaceAndOrg(deps.db, app.space_guid);
    const web = deps.db.query("SELECT command FROM cc_processes WHERE app_guid = ? AND type = 'web'").get(app.guid) as { command: string | null } | null;
    const env: Record<string, string> = {
      ...envVarGroup(deps, "staging"),
      ...(JSON.parse(app.env) as Record<string, string>),
      CF_STACK: build.stack,
      VCAP_APPLICATION: JSON.stringify(vcapApplication(app, space, org, appHostnames(deps.db, app.guid), deps.baseUrl(), webProcess(deps.db, app.guid) ?? undefined, { mem: build.staging_memory_in_mb, disk: build.staging_disk_in_mb })),
      VCAP_SERVICES: "{}",
      MEMORY_LIMIT: `${build.staging_memory_in_mb}m`,
    };
    const request: StagingRequest = {
      staging_guid: build.guid,
      app_guid: app.guid,
      app_name: app.name,
      space_guid: space.guid,
      space_name: space.name,
      organization_guid: org.guid,
      organization_name: org.name,
      environment: env,
      memory_mb: build.staging_memory_in_mb,
      disk_mb: build.staging_disk_in_mb,
      stack: build.stack,
      // Buildpacks the user named run without detection, the last one finalizing (as Diego's builder does).
      buildpacks: (JSON.parse(build.buildpacks) as string[]).map((name) => ({ name, skip_detect: true })),
      start_command: web?.command ?? "",
      package_guid: pkg.guid,
      completion_callback: "",
      timeout_ms: deps.config.staging.timeoutMs,
    };
    let handle: StagingHandle;
    try {
      handle = deps.ports.stager.stage(request, deps.blobs.path(pkg.blob_digest ?? ""));
    } catch (err) {
      this.fail(build.guid, (err as Error).message);
      return;
    }
    this.running.set(build.guid, { app: app.guid, handle });
    const done = handle.result
      .then((result) => this.succeed(build.guid, result))
      // The stager has already logged "Staging failed: ..." as an STG line: log it once.
      .catch((err: unknown) => this.fail(build.guid, err instanceof Error ? err.message : String(err), { logged: true }))
      .finally(() => {
        this.running.delete(build.guid);
        this.settled.delete(done);
      });
    this.settled.add(done);
  }

  private succeed(buildGuid: string, result: StagingResult): void {
    const deps = this.deps;
    if (!/^[a-f0-9]{64}$/.test(result.droplet_hash) || !deps.blobs.has(`sha256:${result.droplet_hash}`)) {
      this.fail(buildGuid, "the stager reported a droplet that is not in the blob store");
      return;
    }
    const build = deps.db.query("SELECT * FROM cc_builds WHERE guid = ?").get(buildGuid) as BuildRow | null;
    if (!build || build.state !== "STAGING") return;
    write(deps, () => {
      const taken = result.droplet_guid && deps.db.query("SELECT 1 FROM cc_droplets WHERE guid = ?").get(result.droplet_guid);
      const dropletGuid = result.droplet_guid && !taken ? result.droplet_guid : deps.newGuid();
      const now = deps.stamp();
      deps.db
        .query(
          `INSERT INTO cc_droplets (guid, app_guid, package_guid, state, lifecycle_type, hash, stack, detected_buildpack, buildpack_name, start_command, process_types, created_at, updated_at)
           VALUES (?, ?, ?, 'STAGED', 'buildpack', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(dropletGuid, build.app_guid, build.package_guid, result.droplet_hash, build.stack, result.detected_buildpack, result.buildpack_name || result.detected_buildpack, result.start_command, JSON.stringify({ web: result.start_command, ...result.process_types }), now, now);
      deps.db.query("UPDATE cc_builds SET state = 'STAGED', droplet_guid = ?, updated_at = ? WHERE guid = ?").run(dropletGuid, now, buildGuid);
      const app = getApp(deps.db, build.app_guid);
      appAudit(deps, { guid: build.created_by_guid, name: build.created_by_name, scopes: [] }, app, "audit.app.droplet.create", { droplet_guid: dropletGuid, package_guid: build.package_guid });
    });
  }

  private fail(buildGuid: string, message: string, opts: { logged?: boolean } = {}): void {
    const deps = this.deps;
    const build = deps.db.query("SELECT * FROM cc_builds WHERE guid = ?").get(buildGuid) as BuildRow | null;
    if (!build || build.state !== "STAGING") return;
    write(deps, () => {
      deps.db.query("UPDATE cc_builds SET state = 'FAILED', error = ?, updated_at = ? WHERE guid = ?").run(`StagingError - Staging error: ${message}`, deps.stamp(), buildGuid);
    });
    if (!opts.logged) deps.ports.logs.append({ source_id: build.app_guid, source_type: "STG", instance_id: "0", stream: "ERR", message: `Staging failed: ${message}`, timestamp: BigInt(deps.clock.now().getTime()) * 1_000_000n });
  }

  /** Cancel stagings of an app (deleted). */
  cancelApp(appGuid: string): void {
    for (const [guid, r] of this.running) {
      if (r.app !== appGuid) continue;
      r.handle.cancel();
      this.running.delete(guid);
    }
  }

  async stop(): Promise<void> {
    for (const r of this.running.values()) r.handle.cancel();
    await Promise.allSettled([...this.settled]);
  }

  /** For tests and shutdown: wait until every staging has settled. */
  async idle(): Promise<void> {
    while (this.settled.size > 0) await Promise.allSettled([...this.settled]);
  }

  getBuild(guid: string): BuildRow {
    return getBuild(this.deps.db, guid);
  }
}
