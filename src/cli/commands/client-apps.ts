import type { Command } from "../command.ts";
import { routeUrl, Session } from "../client/session.ts";

/** `eirini apps`: every app in the targeted space with its instance counts and routes. */
export const appsCommand: Command = {
  name: "apps",
  summary: "list apps in the targeted space",
  usage: "",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const s = Session.open(ctx);
    const apps = await s.api.all<{ guid: string; name: string; state: string }>(`/v3/apps?space_guids=${await s.space()}&order_by=name`);
    const rows = [["name", "requested state", "processes", "routes"]];
    for (const app of apps) {
      const procs = await s.processes(app.guid);
      const counts = await Promise.all(
        procs.map(async (p) => {
          const running = p.instances > 0 ? (await s.stats(p.guid)).filter((i) => i.state === "RUNNING").length : 0;
          return `${p.type}:${running}/${p.instances}`;
        }),
      );
      const urls = (await s.routeUrls(app.guid)).map((u) => routeUrl(s.api.target, u));
      rows.push([app.name, app.state.toLowerCase(), counts.join(", "), urls.join(", ")]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) ctx.io.out(r.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd());
    return 0;
  },
};

/** `eirini app NAME`: one app's state, routes and instances. */
export const appCommand: Command = {
  name: "app",
  summary: "show one app: state, routes, instances",
  usage: "NAME",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const { s, app } = await Session.forApp(ctx);
    const urls = (await s.routeUrls(app.guid)).map((u) => routeUrl(s.api.target, u));
    ctx.io.out(`name:              ${app.name}`);
    ctx.io.out(`requested state:   ${app.state.toLowerCase()}`);
    ctx.io.out(`routes:            ${urls.join(", ")}`);
    for (const p of await s.processes(app.guid)) {
      const stats = p.instances > 0 ? await s.stats(p.guid) : [];
      ctx.io.out("");
      ctx.io.out(`type:           ${p.type}`);
      ctx.io.out(`instances:      ${stats.filter((i) => i.state === "RUNNING").length}/${p.instances}`);
      ctx.io.out(`memory usage:   ${p.memory_in_mb}M`);
      ctx.io.out(`start command:  ${p.command ?? ""}`);
      for (const st of stats) {
        const since = st.uptime ? `up ${st.uptime}s` : "";
        ctx.io.out(`#${st.index}   ${st.state.toLowerCase().padEnd(9)} ${since} ${st.details ?? ""}`.trimEnd());
      }
    }
    return 0;
  },
};
