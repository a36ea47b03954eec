import { statSync } from "node:fs";
import { CliError, UsageError, type Command } from "../command.ts";
import { followLogs, formatLog, logCacheUrl } from "../client/log-tail.ts";
import { parseEnvPairs, pushManifest } from "../client/push-manifest.ts";
import { routeUrl, Session, type InstanceStat } from "../client/session.ts";
import { zipDirectory } from "../client/zip-dir.ts";

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** `eirini push`: the cf push flow (manifest, upload, stage with live log, start, wait). */
export const pushCommand: Command = {
  name: "push",
  summary: "push an app from source: upload, stage, start, route",
  usage: "[DIR] [--name NAME] [-b BUILDPACK] [-c COMMAND] [-i N] [-m MEM] [--env K=V] [--manifest FILE] [--no-start] [--no-route] [--random-route]",
  help: [
    "  --name NAME       app name (default: manifest name or directory name)",
    "  -b BUILDPACK      buildpack (repeatable; default: autodetect)",
    "  -c COMMAND        start command",
    "  -i N              instances",
    "  -m MEM            memory, e.g. 256M or 1G",
    "  --env K=V         environment variable (repeatable)",
    "  --manifest FILE   cf-style manifest.yml",
    "  --no-start        upload only, do not stage or start",
    "  --no-route, --random-route  route options as in cf push",
  ],
  options: {
    name: { type: "string" },
    buildpack: { type: "string", short: "b", multiple: true },
    command: { type: "string", short: "c" },
    instances: { type: "string", short: "i" },
    memory: { type: "string", short: "m" },
    env: { type: "string", multiple: true },
    manifest: { type: "string", short: "f" },
    "no-start": { type: "boolean" },
    "no-route": { type: "boolean" },
    "random-route": { type: "boolean" },
  },
  positionals: { min: 0, max: 1 },
  async run(ctx) {
    const v = ctx.values;
    const instances = v.instances === undefined ? undefined : Number(v.instances);
    if (instances !== undefined && (!Number.isInteger(instances) || instances < 0)) throw new UsageError("-i must be a whole number");
    const { app: manifestApp, dir, yaml } = pushManifest(
      {
        dir: ctx.positionals[0],
        name: v.name as string | undefined,
        buildpacks: (v.buildpack as string[] | undefined) ?? [],
        command: v.command as string | undefined,
        instances,
        memory: v.memory as string | undefined,
        env: parseEnvPairs((v.env as string[] | undefined) ?? []),
        manifest: v.manifest as string | undefined,
        noRoute: Boolean(v["no-route"]),
        randomRoute: Boolean(v["random-route"]),
      },
      process.cwd(),
    );
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${dir} is not a directory`);
    const s = Session.open(ctx);
    const api = s.api;
    const name = manifestApp.name;
    const say = (line: string) => ctx.io.out(line);

    say(`Pushing app ${name} to ${api.settings.organization}/${api.settings.space} on ${api.target}`);
    const space = await s.space();
    const applied = await fetch(`${api.target}/v3/spaces/${space}/actions/apply_manifest`, {
      method: "POST",
      headers: { authorization: `bearer ${api.settings.access_token}`, "content-type": "application/x-yaml" },
      body: yaml,
    });
    if (applied.status !== 202) {
      const { errorLine } = await import("../client/cf-api.ts");
      throw new CliError(errorLine(applied.status, await applied.json().catch(() => ({}))));
    }
    await s.waitJob(applied.headers.get("location")!);
    const app = await s.app(name);

    const zip = zipDirectory(dir);
    say(`Uploading ${zip.files} files (${(zip.bytes.byteLength / 1024 / 1024).toFixed(1)} MB)...`);
    const pkg = await api.request<{ guid: string }>("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: app.guid } } } });
    const form = new FormData();
    form.append("resources", "[]");
    form.append("bits", new Blob([zip.bytes as Uint8Array<ArrayBuffer>], { type: "application/zip" }), "application.zip");
    await api.request("POST", `/v3/packages/${pkg.guid}/upload`, undefined, { raw: form });
    for (let state = ""; state !== "READY"; ) {
      state = (await api.get<{ state: string }>(`/v3/packages/${pkg.guid}`)).state;
      if (state === "FAILED" || state === "EXPIRED") throw new CliError(`package processing ${state.toLowerCase()}`);
      if (state !== "READY") await Bun.sleep(100);
    }
    if (v["no-start"]) {
      say(`Uploaded ${name}; not staged or started (--no-start).`);
      return 0;
    }

    say("Staging app and tracing logs...");
    const logCache = await logCacheUrl(api);
    const since = nowNs();
    const build = await api.request<{ guid: string }>("POST", "/v3/builds", { package: { guid: pkg.guid } });
    let finished: { state: string; error?: string | null; droplet?: { guid: string } | null } = { state: "STAGING" };
    await followLogs(api, logCache, app.guid, since, (l) => l.sourceType === "STG" && say(formatLog(l)), async () => {
      finished = await api.get(`/v3/builds/${build.guid}`);
      return finished.state !== "STAGING";
    });
    if (finished.state !== "STAGED" || !finished.droplet) throw new CliError(`staging failed: ${finished.error ?? finished.state}`);

    await api.request("PATCH", `/v3/apps/${app.guid}/relationships/current_droplet`, { data: { guid: finished.droplet.guid } });
    say("Starting app...");
    await api.request("POST", `/v3/apps/${app.guid}/actions/${app.state === "STARTED" ? "restart" : "start"}`);

    const web = (await s.processes(app.guid)).find((p) => p.type === "web");
    let stats: InstanceStat[] = [];
    if (web && web.instances > 0) {
      const deadline = Date.now() + 180_000;
      for (;;) {
        stats = await s.stats(web.guid);
        if (stats.some((i) => i.state === "RUNNING")) break;
        if (stats.length > 0 && stats.every((i) => i.state === "CRASHED")) throw new CliError(`app ${name} crashed while starting; see \`eirini logs ${name} --recent\``);
        if (Date.now() > deadline) throw new CliError(`app ${name} did not start in time`);
        await Bun.sleep(100);
      }
    }
    const urls = await s.routeUrls(app.guid);
    say("");
    say(`name:    ${name}`);
    say(`routes:  ${urls.map((u) => routeUrl(api.target, u)).join(", ") || "(none)"}`);
    for (const st of stats) say(`#${st.index}   ${st.state.toLowerCase()}`);
    return 0;
  },
};
