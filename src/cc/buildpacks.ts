import { rmSync } from "node:fs";
import { Hono } from "hono";
import { z } from "zod";
import { BuildpackError, BuildpackStore, type Buildpack } from "../st8ge/index.ts";
import { Metadata, readJson } from "./body.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { CfApiError, messageParseError, notFound, tooLarge, unprocessable } from "./errors.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import { listRows } from "./list.ts";

/** Largest buildpack upload accepted (the store's own limit). */
const MAX_BUILDPACK_BYTES = 2 * 1024 ** 3;

const CreateBuildpack = z.strictObject({
  name: z.string().min(1).max(250),
  stack: z.string().min(1).nullable().optional(),
  position: z.number().int().min(1).optional(),
  enabled: z.boolean().optional(),
  locked: z.boolean().optional(),
  metadata: Metadata,
});
const UpdateBuildpack = CreateBuildpack.partial();

/** A store refusal in CF's words: 404 for a missing buildpack, 422 for the rest. */
function cfError(err: unknown): unknown {
  if (!(err instanceof BuildpackError)) return err;
  if (err.code === "not_found") return notFound("Buildpack");
  if (err.code === "locked") return new CfApiError(422, 390002, "CF-BuildpackLocked", "The buildpack is locked");
  if (err.code === "invalid_bits") return new CfApiError(422, 390003, "CF-BuildpackInvalid", err.message);
  // CC's wording; the store keeps one buildpack per name whatever its stack.
  if (err.code === "name_taken") return unprocessable(`Buildpack with name '${/"(.*)"/.exec(err.message)?.[1] ?? ""}' already exists`);
  return unprocessable(err.message);
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw cfError(err);
  }
}

/**
 * Admin buildpacks over CF's V3 API (`cf buildpacks`, `cf create-buildpack`,
 * `cf update-buildpack`, `cf rename-buildpack`, `cf delete-buildpack`),
 * backed by st8ge's BuildpackStore, the same store `eirini buildpacks` and
 * staging use: a buildpack uploaded here stages apps at once. Bits arrive as
 * CF sends them (`POST /v3/buildpacks/:guid/upload`, multipart `bits`); the
 * upload and delete answer 202 with a job the CLI polls, recorded finished
 * because the work is done before the answer (jobs.ts).
 */
export function buildpackRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const store = new BuildpackStore(deps.db, deps.blobs, () => deps.clock.now());
  const b = () => deps.baseUrl();
  const render = (bp: Buildpack) => ({
    guid: bp.guid,
    created_at: isoSeconds(new Date(bp.created_at)),
    updated_at: isoSeconds(new Date(bp.updated_at)),
    name: bp.name,
    state: bp.blob_digest ? "READY" : "AWAITING_UPLOAD",
    filename: bp.filename,
    stack: bp.stack,
    position: bp.position,
    enabled: bp.enabled,
    locked: bp.locked,
    metadata: { labels: {}, annotations: {} },
    links: { self: { href: `${b()}/v3/buildpacks/${bp.guid}` }, upload: { href: `${b()}/v3/buildpacks/${bp.guid}/upload`, method: "POST" } },
  });
  const byGuid = (guid: string) => {
    const bp = store.getByGuid(guid);
    if (!bp) throw notFound("Buildpack");
    return bp;
  };

  r.get("/v3/buildpacks", (c) => {
    const res = listRows(c, b(), store.list(), {
      filters: { names: (x, v) => v.includes(x.name), stacks: (x, v) => v.includes(x.stack ?? "") },
      orderBy: { position: (x) => x.position },
    });
    // CF's default order for buildpacks is position, not creation time.
    const page = new URL(c.req.url).searchParams.has("order_by") ? res.page : [...res.page].sort((x, y) => x.position - y.position);
    return c.json({ pagination: res.pagination, resources: page.map(render) });
  });
  r.get("/v3/buildpacks/:guid", (c) => c.json(render(byGuid(c.req.param("guid")))));
  r.post("/v3/buildpacks", async (c) => {
    const body = await readJson(c, CreateBuildpack);
    const bp = guarded(() => store.create({ name: body.name, stack: body.stack ?? null, ...(body.position !== undefined ? { position: body.position } : {}), enabled: body.enabled ?? true, locked: body.locked ?? false }));
    return c.json(render(bp), 201);
  });
  r.patch("/v3/buildpacks/:guid", async (c) => {
    const bp = byGuid(c.req.param("guid"));
    const body = await readJson(c, UpdateBuildpack);
    const patch = Object.fromEntries(Object.entries({ name: body.name, stack: body.stack, position: body.position, enabled: body.enabled, locked: body.locked }).filter(([, v]) => v !== undefined));
    return c.json(render(guarded(() => store.update(bp.name, patch))));
  });
  r.delete("/v3/buildpacks/:guid", (c) => {
    const bp = byGuid(c.req.param("guid"));
    guarded(() => store.delete(bp.name));
    const job = recordJob(deps, "buildpack.delete");
    return c.body(null, 202, { Location: jobLocation(deps, job) });
  });
  r.post("/v3/buildpacks/:guid/upload", async (c) => {
    const bp = byGuid(c.req.param("guid"));
    if (bp.locked) throw cfError(new BuildpackError("locked", "locked"));
    if (Number(c.req.header("content-length") ?? "0") > MAX_BUILDPACK_BYTES + 1024 * 1024) throw tooLarge(`Buildpack may not be larger than ${MAX_BUILDPACK_BYTES} bytes`);
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch (err) {
      throw messageParseError(`the upload is not multipart/form-data (${(err as Error).message})`);
    }
    const bits = form.get("bits");
    if (bits === null || typeof bits === "string") throw unprocessable("Uploaded bits are not a valid buildpack file: bits must be a file");
    const filename = (bits.name || `${bp.name}.zip`).split(/[\\/]/).pop()!;
    if (!filename.endsWith(".zip")) throw new CfApiError(422, 390003, "CF-BuildpackInvalid", `Buildpack is invalid: ${filename} is not a zip`);
    const tmp = deps.blobs.tempPath("buildpack-upload");
    try {
      await Bun.write(tmp, bits);
      await store.upload(bp.name, tmp, filename);
    } catch (err) {
      throw cfError(err);
    } finally {
      rmSync(tmp, { force: true });
    }
    const job = recordJob(deps, "buildpack.upload");
    return c.json(render(byGuid(bp.guid)), 202, { Location: jobLocation(deps, job) });
  });
  return r;
}
