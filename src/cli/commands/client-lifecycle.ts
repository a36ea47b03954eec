import type { Command } from "../command.ts";
import { Session } from "../client/session.ts";

function appAction(name: "start" | "stop" | "restart", summary: string): Command {
  return {
    name,
    summary,
    usage: "NAME",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const { s, app } = await Session.forApp(ctx);
      await s.api.request("POST", `/v3/apps/${app.guid}/actions/${name}`);
      ctx.io.out(`${name === "stop" ? "stopped" : name === "start" ? "started" : "restarted"} ${app.name}`);
      return 0;
    },
  };
}

export const startCommand = appAction("start", "start an app");
export const stopCommand = appAction("stop", "stop an app");
export const restartCommand = appAction("restart", "restart an app (stop, then start)");

/** `eirini delete NAME`: deletes the app (and its processes, packages, droplets). */
export const deleteCommand: Command = {
  name: "delete",
  summary: "delete an app",
  usage: "NAME",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const s = Session.open(ctx);
    const app = await s.findApp(ctx.positionals[0]!);
    if (!app) {
      ctx.io.out(`app ${ctx.positionals[0]} does not exist`);
      return 0;
    }
    const res = await fetch(`${s.api.target}/v3/apps/${app.guid}`, { method: "DELETE", headers: { authorization: `bearer ${s.api.settings.access_token}` } });
    const job = res.headers.get("location");
    if (job) await s.waitJob(job);
    ctx.io.out(`deleted ${app.name}`);
    return 0;
  },
};
