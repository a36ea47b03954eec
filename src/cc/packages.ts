import { Hono } from "hono";
import { rmSync } from "node:fs";
import { z } from "zod";
import { appAudit, requireDockerSupport } from "./app-state.ts";
import { Metadata, readJson, Relationship, UPLOAD_OVERHEAD_BYTES, zodDetail } from "./body.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { CfApiError, messageParseError, tooLarge, unprocessable } from "./errors.ts";
import { listRows } from "./list.ts";
import * as present from "./present.ts";
import { findApp, getApp, getPackage, type DropletRow, type PackageRow } from "./rows.ts";
import { receiveUpload } from "./multipart-upload.ts";
import { writePackageZip } from "./package-zip.ts";
import { lookupResource, rememberResourceStream } from "./resource-cache.ts";
import { checkAppZip, entryContent, safeRelative, ZipRejected, type CheckedEntry, type ZipLimits } from "./zip-check.ts";
import { write } from "./write.ts";
import { assertFeatureEnabled, featureEnabled } from "./feature-flags.ts";
import { copyPackage } from "./package-copy.ts";

const CreatePackage = z.strictObject({
  type: z.enum(["bits", "docker"]),
  relationships: z.object({ app: Relationship }),
  data: z.object({ image: z.string().min(1).optional(), username: z.string().optional(), password: z.string().optional() }).optional(),
  metadata: Metadata,
});

/** One entry of the `resources` list (ccv3/resource.go: mode is an octal string). */
const ResourceRef = z.object({
  path: z.string().min(1).optional(),
  fn: z.string().min(1).optional(),
  mode: z.string().regex(/^[0-7]{1,7}$/).optional(),
  checksum: z.object({ value: z.string().regex(/^[a-fA-F0-9]{40}$/) }).optional(),
  sha1: z.string().regex(/^[a-fA-F0-9]{40}$/).optional(),
  size_in_bytes: z.number().int().nonnegative().optional(),
  size: z.number().int().nonnegative().optional(),
});
type ResourceRef = z.infer<typeof ResourceRef>;
const sha1Of = (r: ResourceRef) => (r.checksum?.value ?? r.sha1 ?? "").toLowerCase();
const sizeOf = (r: ResourceRef) => r.size_in_bytes ?? r.size ?? 0;
const ResourceMatches = z.strictObject({ resources: z.array(ResourceRef).max(100_000) });

/**
 * Bomb limits of an upload: the uncompressed total is the package limit; one
 * entry may be all of it; 65,535 entries (what a zip without zip64 holds);
 * an entry over 1 MiB may not inflate more than 200 times.
 */
function zipLimits(maxBytes: number): ZipLimits {
  return { maxBytes, maxEntryBytes: maxBytes, maxEntries: 65_535, maxRatio: 200 };
}

/** Packages, bits upload, resource matching (ccv3/package.go, resource.go). */
export function packageRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const limit = () => deps.config.staging.maxPackageBytes;

  r.post("/v3/resource_matches", async (c) => {
    const body = await readJson(c, ResourceMatches);
    // With resource_matching off, CF matches nothing: the CLI then uploads every file.
    const known = !featureEnabled(deps, "resource_matching") ? [] : body.resources.filter((res) => {
      const hit = lookupResource(deps, sha1Of(res));
      return hit !== null && hit.size === sizeOf(res);
    });
    return c.json({ resources: known }, 201);
  });

  r.get("/v3/packages", (c) => {
    const rows = deps.db.query("SELECT * FROM cc_packages").all() as PackageRow[];
    const res = listRows(c, b(), rows, {
      filters: { app_guids: (p, v) => v.includes(p.app_guid), states: (p, v) => v.includes(p.state), types: (p, v) => v.includes(p.type), guids: (p, v) => v.includes(p.guid) },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((p) => present.pkg(b(), p)) });
  });
  r.get("/v3/packages/:guid", (c) => c.json(present.pkg(b(), getPackage(deps.db, c.req.param("guid")))));
  r.get("/v3/packages/:guid/droplets", (c) => {
    const p = getPackage(deps.db, c.req.param("guid"));
    const rows = deps.db.query("SELECT * FROM cc_droplets WHERE package_guid = ?").all(p.guid) as DropletRow[];
    const res = listRows(c, b(), rows, { filters: { states: (d, v) => v.includes(d.state), guids: (d, v) => v.includes(d.guid) } });
    return c.json({ pagination: res.pagination, resources: res.page.map((d) => present.droplet(b(), d)) });
  });
  r.get("/v3/packages/:guid/download", (c) => {
    const p = getPackage(deps.db, c.req.param("guid"));
    if (p.type !== "bits" || !p.blob_digest || !deps.blobs.has(p.blob_digest)) throw unprocessable("Package has no bits to download");
    return new Response(deps.blobs.stream(p.blob_digest), { headers: { "content-type": "application/zip" } });
  });

  r.post("/v3/packages", async (c) => {
    // `cf copy-source`: POST /v3/packages?source_guid= copies another package (package-copy.ts).
    if (c.req.query("source_guid") !== undefined) return copyPackage(deps, c);
    const body = await readJson(c, CreatePackage);
    const appGuid = body.relationships.app.data.guid;
    if (!findApp(deps.db, appGuid)) throw unprocessable("App is invalid. Ensure it exists and you have access to it.");
    if (body.type === "docker" && !body.data?.image) throw unprocessable("Image required for docker packages");
    if (body.type === "docker") requireDockerSupport(deps);
    if (body.type === "bits" && body.data?.image) throw unprocessable("Bits packages take no image");
    const pkg = write(deps, () => {
      const guid = deps.newGuid();
      const now = deps.stamp();
      deps.db
        .query("INSERT INTO cc_packages (guid, app_guid, type, state, docker_image, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(guid, appGuid, body.type, body.type === "docker" ? "READY" : "AWAITING_UPLOAD", body.data?.image ?? null, now, now);
      appAudit(deps, c.get("user"), getApp(deps.db, appGuid), "audit.app.package.create", { package_guid: guid, request: { type: body.type } });
      return getPackage(deps.db, guid);
    });
    return c.json(present.pkg(b(), pkg), 201);
  });

  r.post("/v3/packages/:guid/upload", async (c) => {
    const p = getPackage(deps.db, c.req.param("guid"));
    if (p.type !== "bits") throw unprocessable("Only bits packages take uploads");
    assertFeatureEnabled(deps, "app_bits_upload");
    if (p.state !== "AWAITING_UPLOAD") throw new CfApiError(422, 150004, "CF-PackageBitsAlreadyUploaded", "Bits may be uploaded only once. Create a new package to upload different bits.");
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > limit() + UPLOAD_OVERHEAD_BYTES) throw tooLarge(`Package may not be larger than ${limit()} bytes`);
    // The bits stream to a temp file (never into memory), counted as they arrive.
    const upload = await receiveUpload(c.req.raw, () => deps.blobs.tempPath("upload"), limit());
    const built = deps.blobs.tempPath("package");
    try {
      let refs: ResourceRef[] = [];
      if (upload.resources !== null) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(upload.resources);
        } catch {
          throw messageParseError("resources is not valid JSON");
        }
        const ok = z.array(ResourceRef).safeParse(parsed);
        if (!ok.success) throw unprocessable(`resources: ${zodDetail(ok.error)}`);
        refs = ok.data;
      }
      if (!upload.bitsPath && refs.length === 0) throw unprocessable("Upload must include either resources or bits");

      // Validate everything before writing anything: a bad upload changes nothing.
      let entries: CheckedEntry[] = [];
      try {
        if (upload.bitsPath) entries = await checkAppZip(upload.bitsPath, zipLimits(limit()));
        const kinds = new Map(entries.map((e) => [e.path, e.kind]));
        for (const ref of refs) {
          const path = ref.path ?? ref.fn;
          if (!path) throw new ZipRejected("every resource needs a path");
          const clean = safeRelative(path);
          const parts = clean.split("/");
          for (let n = 1; n < parts.length; n++) {
            const above = kinds.get(parts.slice(0, n).join("/"));
            if (above === "symlink" || above === "file") throw new ZipRejected(`path '${clean}' lies below the ${above} '${parts.slice(0, n).join("/")}'`);
          }
        }
      } catch (err) {
        if (err instanceof ZipRejected) throw unprocessable(`The uploaded package is invalid: ${err.message}`);
        throw err;
      }
      const cached = refs.map((ref) => {
        const hit = lookupResource(deps, sha1Of(ref));
        if (!hit) throw unprocessable(`The uploaded package is invalid: resource '${ref.path ?? ref.fn}' (sha1 ${sha1Of(ref)}) is not in the resource cache`);
        return { ref, hit };
      });
      const total = entries.reduce((n, e) => n + e.size, 0) + cached.reduce((n, x) => n + x.hit.size, 0);
      if (total > limit()) throw tooLarge(`Package may not be larger than ${limit()} bytes`);

      for (const e of entries) {
        if (e.kind === "file") await rememberResourceStream(deps, e.sha1, e.size, entryContent(upload.bitsPath!, e));
      }
      await writePackageZip(
        built,
        upload.bitsPath ? { file: upload.bitsPath, entries } : null,
        cached.map(({ ref, hit }) => ({
          path: safeRelative(ref.path ?? ref.fn ?? ""),
          mode: 0o100000 | (ref.mode ? parseInt(ref.mode, 8) & 0o777 : 0o644),
          source: deps.blobs.path(hit.blob_digest),
          size: hit.size,
        })),
      );
      const { digest } = await deps.blobs.ingestFile(built);
      const updated = write(deps, () => {
        deps.db.query("UPDATE cc_packages SET state = 'READY', blob_digest = ?, updated_at = ? WHERE guid = ?").run(digest, deps.stamp(), p.guid);
        appAudit(deps, c.get("user"), getApp(deps.db, p.app_guid), "audit.app.upload-bits", { package_guid: p.guid });
        return getPackage(deps.db, p.guid);
      });
      return c.json(present.pkg(b(), updated));
    } finally {
      if (upload.bitsPath) rmSync(upload.bitsPath, { force: true });
      rmSync(built, { force: true });
    }
  });
  return r;
}
