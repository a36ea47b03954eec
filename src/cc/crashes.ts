import type { InstanceCrashed } from "../model/index.ts";
import { apiLog } from "./api-log.ts";
import { recordAudit } from "./audit.ts";
import type { CcDeps } from "./deps.ts";
import { getApp, getSpace, type ProcessRow } from "./rows.ts";
import { write } from "./write.ts";

/**
 * A crash reported by OPI becomes `app.crash` and `audit.app.process.crash`
 * events (`cf events`) and an API log line (`cf logs`). The instance's CRASHED state
 * itself is read live from OPI for `/stats`. Crashes of versions no longer
 * desired (an old LRP being replaced) are still recorded against the app.
 */
export function recordCrash(deps: CcDeps, e: InstanceCrashed): boolean {
  const p = deps.db.query("SELECT * FROM cc_processes WHERE guid || '-' || version = ? OR guid = ?").get(e.process_guid, e.process_guid.slice(0, 36)) as ProcessRow | null;
  if (!p) return false;
  const app = getApp(deps.db, p.app_guid);
  const space = getSpace(deps.db, app.space_guid);
  const data = {
    index: e.index, instance: e.instance, reason: e.reason, exit_description: e.exit_description, exit_status: e.exit_status,
    crash_count: e.crash_count, crash_timestamp: e.crash_timestamp, process_type: p.type,
  };
  // CC records both: `app.crash` (actor: the app; what `cf events` has always shown) and the process-level event.
  write(deps, () => {
    const target = { guid: app.guid, type: "app", name: app.name };
    const where = { space_guid: app.space_guid, organization_guid: space.org_guid };
    const { process_type: _type, ...appData } = data;
    recordAudit(deps, { type: "app.crash", actor: target, target, data: appData, ...where });
    recordAudit(deps, { type: "audit.app.process.crash", actor: { guid: p.guid, type: "process", name: p.type }, target, data, ...where });
  });
  apiLog(deps, app.guid, `Process has crashed with type: "${p.type}"`);
  apiLog(deps, app.guid, `App instance exited with guid ${app.guid} payload: ${JSON.stringify({ instance: e.instance, index: e.index, reason: e.reason, exit_description: e.exit_description, crash_count: e.crash_count, crash_timestamp: e.crash_timestamp })}`);
  return true;
}
