import { UsageError, type Command } from "../command.ts";
import { Session } from "../client/session.ts";

/** Parses `256M`, `1G`, `512` (MB) into megabytes. */
export function parseMegabytes(raw: string): number {
  const m = /^(\d+)\s*(M|MB|G|GB)?$/i.exec(raw.trim());
  if (!m) throw new UsageError(`invalid size ${JSON.stringify(raw)}; use e.g. 256M or 1G`);
  const n = Number(m[1]);
  return /^g/i.test(m[2] ?? "") ? n * 1024 : n;
}

/** `eirini scale NAME -i N [-m MEM] [-k DISK]`. */
export const scaleCommand: Command = {
  name: "scale",
  summary: "change an app's instances, memory or disk",
  usage: "NAME [-i N] [-m MEM] [-k DISK]",
  options: { instances: { type: "string", short: "i" }, memory: { type: "string", short: "m" }, disk: { type: "string", short: "k" } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const body: Record<string, number> = {};
    if (ctx.values.instances !== undefined) {
      const n = Number(ctx.values.instances);
      if (!Number.isInteger(n) || n < 0) throw new UsageError("-i must be a whole number");
      body.instances = n;
    }
    if (ctx.values.memory !== undefined) body.memory_in_mb = parseMegabytes(ctx.values.memory as string);
    if (ctx.values.disk !== undefined) body.disk_in_mb = parseMegabytes(ctx.values.disk as string);
    if (Object.keys(body).length === 0) throw new UsageError("nothing to scale: pass -i, -m or -k");
    const { s, app } = await Session.forApp(ctx);
    const p = await s.api.request<{ instances: number; memory_in_mb: number; disk_in_mb: number }>("POST", `/v3/apps/${app.guid}/processes/web/actions/scale`, body);
    ctx.io.out(`scaled ${app.name}: ${p.instances} instances, ${p.memory_in_mb}M memory, ${p.disk_in_mb}M disk`);
    return 0;
  },
};
