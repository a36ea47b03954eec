import { createHash } from "node:crypto";
import { Hono } from "hono";
import { listStacks } from "../registry/index.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound } from "./errors.ts";
import { listRows } from "./list.ts";

interface CfStack {
  guid: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  default: boolean;
}

/** A stable guid per stack name (a name-based UUID, RFC 4122 version 5 layout), so links survive restarts. */
function stackGuid(name: string): string {
  const h = createHash("sha1").update(`eirini-stack:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The stacks as CF lists them (`cf stacks`, `cf stack`): every stack
 * `eirini stack import` stored (its real import time, source, platform and
 * size), plus the default stack (config `staging.defaultStack`) that the
 * built-in buildpacks stage on. When the default was never imported it is
 * what this machine provides (local backend: the host's own root filesystem)
 * or the staging image (kube backend); its timestamps are the appliance's
 * installation time (the first schema migration).
 */
export function cfStacks(deps: Pick<CcDeps, "db" | "config" | "clock">): CfStack[] {
  const def = deps.config.staging.defaultStack;
  const out: CfStack[] = listStacks(deps.db).map((s) => ({
    guid: stackGuid(s.name),
    name: s.name,
    description: `imported ${s.source === "oci-layout" ? "OCI image" : "root filesystem"} (${s.os}/${s.architecture}, ${s.layers} layer${s.layers === 1 ? "" : "s"}, ${mib(s.bytes)})`,
    created_at: s.created_at,
    updated_at: s.updated_at,
    default: s.name === def,
  }));
  if (!out.some((s) => s.name === def)) {
    const installed = deps.db.query("SELECT applied_at FROM schema_migrations ORDER BY version LIMIT 1").get() as { applied_at: string } | null;
    const at = installed?.applied_at ?? deps.clock.now().toISOString();
    const description =
      deps.config.backend === "kube"
        ? `default stack: staging runs in the image ${deps.config.kube.stagingImage.replaceAll("{stack}", def)}`
        : "default stack: built-in buildpacks stage and apps run on this machine's root filesystem";
    out.push({ guid: stackGuid(def), name: def, description, created_at: at, updated_at: at, default: true });
  }
  return out;
}

/** `GET /v3/stacks`, `/v3/stacks/:guid`; empty deployment lists (no rolling deployments on the appliance). */
export function stackRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const render = (s: CfStack) => ({
    ...s,
    created_at: isoSeconds(new Date(s.created_at)),
    updated_at: isoSeconds(new Date(s.updated_at)),
    build_rootfs_image: s.name,
    run_rootfs_image: s.name,
    metadata: { labels: {}, annotations: {} },
    links: { self: { href: `${b()}/v3/stacks/${s.guid}` } },
  });
  r.get("/v3/stacks", (c) => {
    const res = listRows(c, b(), cfStacks(deps), {
      filters: { names: (s, v) => v.includes(s.name), default: (s, v) => v.includes(String(s.default)) },
      orderBy: { name: (s) => s.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map(render) });
  });
  r.get("/v3/stacks/:guid", (c) => {
    const s = cfStacks(deps).find((x) => x.guid === c.req.param("guid"));
    if (!s) throw notFound("Stack");
    return c.json(render(s));
  });
  const empty = (path: string, filters: string[]) =>
    r.get(path, (c) => {
      const res = listRows(c, b(), [] as { created_at: string }[], { filters: Object.fromEntries(filters.map((f) => [f, () => true])) });
      return c.json({ pagination: res.pagination, resources: [] });
    });
  empty("/v3/deployments", ["app_guids", "status_values", "states", "guids"]);
  return r;
}
