import type { Command } from "../command.ts";
import { Session } from "../client/session.ts";

/** `eirini env NAME`: the app's own and system-provided environment. */
export const envCommand: Command = {
  name: "env",
  summary: "show an app's environment variables",
  usage: "NAME",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const { s, app } = await Session.forApp(ctx);
    const env = await s.api.get<{ environment_variables?: Record<string, string>; system_env_json?: unknown; application_env_json?: unknown }>(`/v3/apps/${app.guid}/env`);
    ctx.io.out("User-Provided:");
    for (const [k, v] of Object.entries(env.environment_variables ?? {})) ctx.io.out(`${k}: ${v}`);
    if (env.application_env_json) {
      ctx.io.out("");
      ctx.io.out("Application environment:");
      ctx.io.out(JSON.stringify(env.application_env_json, null, 2));
    }
    return 0;
  },
};

function envChange(name: "set-env" | "unset-env"): Command {
  const setting = name === "set-env";
  return {
    name,
    summary: setting ? "set an app environment variable (restage or restart to apply)" : "remove an app environment variable",
    usage: setting ? "NAME KEY VALUE" : "NAME KEY",
    options: {},
    positionals: setting ? { min: 3, max: 3 } : { min: 2, max: 2 },
    async run(ctx) {
      const [appName, key, value] = ctx.positionals as [string, string, string | undefined];
      const s = Session.open(ctx);
      const app = await s.app(appName);
      await s.api.request("PATCH", `/v3/apps/${app.guid}/environment_variables`, { var: { [key]: setting ? value : null } });
      ctx.io.out(`${setting ? "set" : "removed"} ${key} for ${app.name}; restart the app to apply`);
      return 0;
    },
  };
}

export const setEnvCommand = envChange("set-env");
export const unsetEnvCommand = envChange("unset-env");
