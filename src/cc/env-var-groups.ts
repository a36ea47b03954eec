import { Hono } from "hono";
import { z } from "zod";
import { readJson } from "./body.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";

/**
 * CF's environment variable groups (`cf running-environment-variable-group`,
 * `cf set-staging-environment-variable-group`): admin-set variables every app
 * gets, the `running` group in its instances and tasks, the `staging` group
 * while it stages. An app's own variables win over a group's. As in CF, a
 * change reaches an app at its next start, restart or restage.
 */
export type EnvVarGroupName = "running" | "staging";

/** The variables of a group (empty until an admin sets some). */
export function envVarGroup(deps: Pick<CcDeps, "db">, name: EnvVarGroupName): Record<string, string> {
  const row = deps.db.query("SELECT vars FROM cc_env_var_groups WHERE name = ?").get(name) as { vars: string } | null;
  return row ? (JSON.parse(row.vars) as Record<string, string>) : {};
}

// CC's rules for variable names (EnvironmentVariablesValidator): not empty, no VCAP_/VMC_ prefix, never PORT.
const VarName = z
  .string()
  .min(1, "Environment variable names must not be empty")
  .refine((k) => !/^(VCAP|VMC)_/i.test(k), "Environment variable names cannot start with VCAP_ or VMC_")
  .refine((k) => k.toUpperCase() !== "PORT", "Environment variable name PORT cannot be set");

// A null value removes the variable (the CLI's set-* sends null for every key it drops); numbers and booleans become strings.
const PatchGroup = z.strictObject({
  var: z.record(VarName, z.union([z.string(), z.number(), z.boolean()]).nullable()),
});

export function envVarGroupRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const groupName = (raw: string): EnvVarGroupName => {
    if (raw !== "running" && raw !== "staging") throw notFound("Environment variable group");
    return raw;
  };
  const render = (name: EnvVarGroupName) => {
    const row = deps.db.query("SELECT updated_at FROM cc_env_var_groups WHERE name = ?").get(name) as { updated_at: string } | null;
    return {
      name,
      var: envVarGroup(deps, name),
      updated_at: row ? isoSeconds(new Date(row.updated_at)) : null,
      links: { self: { href: `${deps.baseUrl()}/v3/environment_variable_groups/${name}` } },
    };
  };
  r.get("/v3/environment_variable_groups/:name", (c) => c.json(render(groupName(c.req.param("name")))));
  r.patch("/v3/environment_variable_groups/:name", async (c) => {
    const name = groupName(c.req.param("name"));
    const body = await readJson(c, PatchGroup);
    const vars = envVarGroup(deps, name);
    for (const [k, v] of Object.entries(body.var)) {
      if (v === null) delete vars[k];
      else vars[k] = String(v);
    }
    const text = JSON.stringify(vars);
    if (text.length > 1024 * 1024) throw unprocessable("Environment variable group is too large (at most 1 MiB of JSON)");
    deps.db
      .query("INSERT INTO cc_env_var_groups (name, vars, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET vars = excluded.vars, updated_at = excluded.updated_at")
      .run(name, text, deps.stamp());
    return c.json(render(name));
  });
  return r;
}
