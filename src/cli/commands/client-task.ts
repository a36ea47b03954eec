import type { Command } from "../command.ts";
import { Session } from "../client/session.ts";

/** `eirini run-task NAME --command CMD [--name TASK]`. */
export const runTaskCommand: Command = {
  name: "run-task",
  summary: "run a one-off task with an app's droplet and environment",
  usage: "NAME --command CMD [--name TASK]",
  options: { command: { type: "string", short: "c" }, name: { type: "string" } },
  positionals: { min: 1, max: 2 },
  async run(ctx) {
    const { s, app } = await Session.forApp(ctx);
    const command = (ctx.values.command as string | undefined) ?? ctx.positionals[1];
    const body: Record<string, unknown> = {};
    if (command) body.command = command;
    if (ctx.values.name) body.name = ctx.values.name;
    const task = await s.api.request<{ guid: string; name: string; sequence_id: number; state: string }>("POST", `/v3/apps/${app.guid}/tasks`, body);
    ctx.io.out(`task ${task.name} (#${task.sequence_id}, ${task.guid}) ${task.state.toLowerCase()}`);
    return 0;
  },
};
