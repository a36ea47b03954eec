import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { CliError, UsageError } from "../command.ts";

/** One application entry as `cf push` manifests spell it. */
export type ManifestApp = Record<string, unknown> & { name: string; path?: string };

export interface PushFlags {
  dir?: string;
  name?: string;
  buildpacks: string[];
  command?: string;
  instances?: number;
  memory?: string;
  env: Record<string, string>;
  manifest?: string;
  noRoute: boolean;
  randomRoute: boolean;
}

/** Reads the manifest (if any) and lays the flags over its first application, as `cf push` does. */
export function pushManifest(flags: PushFlags, cwd: string): { app: ManifestApp; dir: string; yaml: string } {
  let fromFile: ManifestApp | undefined;
  let manifestDir = cwd;
  if (flags.manifest) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(flags.manifest, "utf8"));
    } catch (err) {
      throw new CliError(`manifest ${flags.manifest} cannot be read: ${(err as Error).message.split("\n")[0]}`, 1, { cause: err });
    }
    const apps = (doc as { applications?: ManifestApp[] })?.applications;
    if (!Array.isArray(apps) || apps.length === 0) throw new CliError(`manifest ${flags.manifest} has no applications`);
    fromFile = flags.name ? apps.find((a) => a.name === flags.name) : apps[0];
    if (!fromFile) throw new CliError(`manifest ${flags.manifest} has no application named ${flags.name}`);
    manifestDir = dirname(resolve(flags.manifest));
  }
  const dir = resolve(flags.dir ?? (fromFile?.path ? resolve(manifestDir, fromFile.path) : cwd));
  const name = flags.name ?? fromFile?.name ?? basename(dir);
  if (!name) throw new UsageError("no app name: pass --name or a manifest");
  const app: ManifestApp = { ...(fromFile ?? {}), name };
  delete app.path;
  if (flags.buildpacks.length) app.buildpacks = flags.buildpacks;
  if (flags.command) app.command = flags.command;
  if (flags.instances !== undefined) app.instances = flags.instances;
  if (flags.memory) app.memory = flags.memory;
  if (Object.keys(flags.env).length) app.env = { ...((app.env as Record<string, string>) ?? {}), ...flags.env };
  if (flags.noRoute) {
    app["no-route"] = true;
    delete app.routes;
  } else if (flags.randomRoute) {
    app["random-route"] = true;
  } else if (!app.routes && !app["no-route"] && !app["random-route"]) {
    app["default-route"] = true;
  }
  return { app, dir, yaml: stringify({ applications: [app] }) };
}

/** Parses `K=V` pairs given with `--env`. */
export function parseEnvPairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`--env expects KEY=VALUE, got ${JSON.stringify(p)}`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}
