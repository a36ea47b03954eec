import type { CcDeps } from "./deps.ts";

/**
 * `[API/0]` lines in an app's log for its lifecycle changes, as Cloud
 * Controller writes them (`cf logs` shows who changed what, between the
 * staging, cell and app lines). One line per recorded app audit event.
 */
export function apiLog(deps: Pick<CcDeps, "ports" | "clock">, appGuid: string, message: string): void {
  deps.ports.logs.append({ source_id: appGuid, source_type: "API", instance_id: "0", stream: "OUT", message, timestamp: BigInt(deps.clock.now().getTime()) * 1_000_000n });
}

/** CC's wording for the app events worth a line; null for events CC does not log. */
export function apiLogMessage(type: string, appGuid: string, data: Record<string, unknown>): string | null {
  const proc = typeof data.process_type === "string" ? data.process_type : "web";
  const request = (data.request ?? {}) as Record<string, unknown>;
  const ruby = (o: Record<string, unknown>) => `{${Object.entries(o).map(([k, v]) => `"${k}"=>${JSON.stringify(v)}`).join(", ")}}`;
  switch (type) {
    case "audit.app.create":
      return `Created app with guid ${appGuid}`;
    case "audit.app.start":
      return `Updated app with guid ${appGuid} ({"state"=>"STARTED"})`;
    case "audit.app.stop":
      return `Updated app with guid ${appGuid} ({"state"=>"STOPPED"})`;
    case "audit.app.restart":
      return `Restarted app with guid ${appGuid}`;
    case "audit.app.update":
      return `Updated app with guid ${appGuid} (${ruby(request)})`;
    case "audit.app.build.create":
      return `Creating build for app with guid ${appGuid}`;
    case "audit.app.droplet.create":
      return `Creating droplet for app with guid ${appGuid}`;
    case "audit.app.droplet.mapped":
      return `Assigned droplet ${String(request.droplet_guid ?? "")} to app with guid ${appGuid}`;
    case "audit.app.process.scale":
      return `Scaling process ${proc} of app with guid ${appGuid} (${ruby(request)})`;
    case "audit.app.process.update":
      return `Updating process ${proc} of app with guid ${appGuid}`;
    case "audit.app.process.terminate_instance":
      return `Stopping instance ${String(data.process_index ?? 0)} of process ${proc} of app with guid ${appGuid}`;
    case "audit.app.apply_manifest":
      return `Applied manifest to app with guid ${appGuid}`;
    default:
      return null;
  }
}
