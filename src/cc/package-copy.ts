import { z } from "zod";
import { appAudit, requireDockerSupport } from "./app-state.ts";
import { readJson, Relationship } from "./body.ts";
import type { CcContext, CcDeps } from "./deps.ts";
import { unprocessable } from "./errors.ts";
import * as present from "./present.ts";
import { findApp, getApp, getPackage } from "./rows.ts";
import { write } from "./write.ts";

const CopyPackage = z.strictObject({ relationships: z.object({ app: Relationship }) });

/**
 * `POST /v3/packages?source_guid=GUID` (`cf copy-source`): a new package for
 * the target app holding the source package's bits or image. Blobs are
 * content-addressed, so the copy refers to the same blob and is READY at
 * once (CF answers COPYING and finishes in a job; the CLI polls the package
 * until READY either way).
 */
export async function copyPackage(deps: CcDeps, c: CcContext): Promise<Response> {
  const source = getPackage(deps.db, c.req.query("source_guid") ?? "");
  const body = await readJson(c, CopyPackage);
  const appGuid = body.relationships.app.data.guid;
  if (!findApp(deps.db, appGuid)) throw unprocessable("App is invalid. Ensure it exists and you have access to it.");
  if (source.state !== "READY") throw unprocessable("Source package is not ready to be copied (it has no bits yet)");
  if (source.type === "docker") requireDockerSupport(deps);
  const pkg = write(deps, () => {
    const guid = deps.newGuid();
    const now = deps.stamp();
    deps.db
      .query("INSERT INTO cc_packages (guid, app_guid, type, state, blob_digest, docker_image, created_at, updated_at) VALUES (?, ?, ?, 'READY', ?, ?, ?, ?)")
      .run(guid, appGuid, source.type, source.blob_digest, source.docker_image, now, now);
    appAudit(deps, c.get("user"), getApp(deps.db, appGuid), "audit.app.package.create", { package_guid: guid, request: { source_guid: source.guid } });
    return getPackage(deps.db, guid);
  });
  return c.json(present.pkg(deps.baseUrl(), pkg), 201);
}
