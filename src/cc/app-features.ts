import { Hono } from "hono";
import { z } from "zod";
import { appAudit } from "./app-state.ts";
import { readJson } from "./body.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { getApp, type AppRow } from "./rows.ts";
import { write } from "./write.ts";

/** Why `cf ssh` cannot reach an instance here, whatever the app's feature says. */
export const SSH_UNAVAILABLE = "SSH is not available on the Eirini appliance: it runs no SSH proxy";

const FEATURES: Record<string, { description: string; enabled: (a: AppRow) => boolean }> = {
  ssh: { description: "Enable SSHing into the app.", enabled: (a) => a.enable_ssh === 1 },
  revisions: { description: "Enable versioning of an application", enabled: () => false },
};

const Patch = z.strictObject({ enabled: z.boolean() });

/** The request schemas of this file, for the input-coverage test (every field honoured or refused). */
export const appFeatureSchemas = { Patch };

/**
 * App features (`cf enable-ssh`, `cf disable-ssh`, `cf ssh-enabled`;
 * ccv3/application_feature.go). The `ssh` feature is stored per app as the
 * user sets it; `/ssh_enabled` answers whether ssh really works, which it
 * never does here (no SSH proxy), with the reason `cf ssh-enabled` prints.
 */
export function appFeatureRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const render = (a: AppRow, name: string) => ({ name, description: FEATURES[name]!.description, enabled: FEATURES[name]!.enabled(a) });
  const feature = (name: string) => {
    if (!Object.hasOwn(FEATURES, name)) throw notFound("Feature");
    return name;
  };
  r.get("/v3/apps/:guid/features", (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const resources = Object.keys(FEATURES).map((n) => render(app, n));
    const first = { href: `${deps.baseUrl()}/v3/apps/${app.guid}/features` };
    return c.json({ resources, pagination: { total_results: resources.length, total_pages: 1, first, last: first, next: null, previous: null } });
  });
  r.get("/v3/apps/:guid/features/:name", (c) => c.json(render(getApp(deps.db, c.req.param("guid")), feature(c.req.param("name")))));
  r.patch("/v3/apps/:guid/features/:name", async (c) => {
    const app = getApp(deps.db, c.req.param("guid"));
    const name = feature(c.req.param("name"));
    const body = await readJson(c, Patch);
    if (name !== "ssh") {
      if (body.enabled) throw unprocessable(`The '${name}' feature is not supported by the Eirini appliance`);
      return c.json(render(app, name));
    }
    const updated = write(deps, () => {
      deps.db.query("UPDATE cc_apps SET enable_ssh = ?, updated_at = ? WHERE guid = ?").run(body.enabled ? 1 : 0, deps.stamp(), app.guid);
      const a = getApp(deps.db, app.guid);
      appAudit(deps, c.get("user"), a, "audit.app.update", { request: { enable_ssh: body.enabled } });
      return a;
    });
    return c.json(render(updated, name));
  });
  r.get("/v3/apps/:guid/ssh_enabled", (c) => {
    getApp(deps.db, c.req.param("guid"));
    return c.json({ enabled: false, reason: SSH_UNAVAILABLE });
  });
  return r;
}
