import type { Command } from "../command.ts";
import { followLogs, formatLog, logCacheUrl, readLogs } from "../client/log-tail.ts";
import { Session } from "../client/session.ts";

/** `eirini logs NAME [--recent]`: recent lines, or follow new ones until interrupted. */
export const logsCommand: Command = {
  name: "logs",
  summary: "show an app's logs (--recent), or stream them",
  usage: "NAME [--recent]",
  options: { recent: { type: "boolean" } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const { s, app } = await Session.forApp(ctx);
    const logCache = await logCacheUrl(s.api);
    if (ctx.values.recent) {
      for (const l of await readLogs(s.api, logCache, app.guid, 0n, 1000)) ctx.io.out(formatLog(l));
      return 0;
    }
    let stopped = false;
    process.once("SIGINT", () => (stopped = true));
    ctx.io.out(`Retrieving logs for app ${app.name}...`);
    await followLogs(s.api, logCache, app.guid, BigInt(Date.now()) * 1_000_000n, (l) => ctx.io.out(formatLog(l)), () => stopped, 500);
    return 0;
  },
};
