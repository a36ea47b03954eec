import { bumpVersions } from "./app-state.ts";
import type { CcDeps } from "./deps.ts";
import { applyMetadata, lrpAnnotations, sameMap, type MetadataPatch, type MetadataResource } from "./metadata.ts";
import type { AppRow, SpaceRow } from "./rows.ts";
import { SCHEDULING_PREFIX } from "../opi/index.ts";

type D = Pick<CcDeps, "db" | "newGuid" | "stamp" | "config" | "ports" | "clock">;

/**
 * Applies a validated metadata PATCH in the caller's transaction. When the
 * scheduling annotations (`scheduling.eirini.cloudfoundry.org/*`) an app
 * inherits or carries change, its processes get new versions (as a command
 * change does): the Sink replaces its LRPs, so the new scheduling reaches the
 * running StatefulSets. Other metadata never restarts an app (as in CF); it
 * rides along with the next version. Returns the rescheduled apps' guids,
 * for the caller to announce.
 */
export function updateMetadata(deps: D, resource: MetadataResource, guid: string, patch: MetadataPatch | undefined): string[] {
  if (resource !== "app" && resource !== "space") {
    applyMetadata(deps.db, resource, guid, patch);
    return [];
  }
  const spaceGuid = resource === "space" ? guid : (deps.db.query("SELECT space_guid FROM cc_apps WHERE guid = ?").get(guid) as { space_guid: string } | null)?.space_guid;
  if (!spaceGuid) return [];
  const load = () => {
    const space = deps.db.query("SELECT annotations FROM cc_spaces WHERE guid = ?").get(spaceGuid) as SpaceRow;
    const apps = (resource === "app"
      ? deps.db.query("SELECT guid, annotations FROM cc_apps WHERE guid = ?").all(guid)
      : deps.db.query("SELECT guid, annotations FROM cc_apps WHERE space_guid = ?").all(guid)) as Pick<AppRow, "guid" | "annotations">[];
    return new Map(apps.map((a) => [a.guid, lrpAnnotations(space, a)]));
  };
  const before = load();
  if (!applyMetadata(deps.db, resource, guid, patch)) return [];
  const changed: string[] = [];
  for (const [appGuid, now] of load()) {
    if (sameMap(scheduling(before.get(appGuid) ?? {}), scheduling(now))) continue;
    bumpVersions(deps, appGuid);
    changed.push(appGuid);
  }
  return changed;
}

function scheduling(annotations: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith(SCHEDULING_PREFIX)));
}
