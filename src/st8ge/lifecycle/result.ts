import { parse } from "yaml";
import { z } from "zod";
import { StagingError } from "../errors.ts";
import { parseRelease } from "./release.ts";

/** One buildpack as Diego's builder reports it (lifecycle_metadata.buildpacks[]). */
export interface BuildpackMetadata {
  key: string;
  name: string;
  version?: string;
  config?: { entrypoint_prefix?: string };
}

/** What the lifecycle decided, read from builder.sh's out/ directory. */
export interface LifecycleOutputs {
  /** For the Cloud Controller: the config.yml name (Diego's), else the detect output, else the buildpack's name. */
  detectedBuildpack: string;
  buildpackName: string;
  startCommand: string;
  processTypes: Record<string, string>;
  buildpacks: BuildpackMetadata[];
  /** The droplet's staging_info.yml, byte for byte as Diego's builder writes it. */
  stagingInfo: string;
}

const ConfigYml = z
  .object({
    name: z.string().nullish(),
    version: z.union([z.string(), z.number()]).nullish(),
    config: z.object({ entrypoint_prefix: z.string().nullish() }).passthrough().nullish(),
  })
  .passthrough();

const LaunchYml = z.object({
  processes: z
    .array(
      z
        .object({
          type: z.string(),
          command: z.string().default(""),
          platforms: z.object({ cloudfoundry: z.object({ sidecar_for: z.array(z.string()).nullish() }).passthrough().nullish() }).passthrough().nullish(),
        })
        .passthrough(),
    )
    .nullish(),
});

/** Reads a file of builder.sh's out/ dir by its relative path (never through a link: the tree is the buildpacks'), or null. */
export type OutReader = (rel: string) => string | null;

function configOf(read: OutReader, idx: string): z.infer<typeof ConfigYml> {
  const text = read(`deps/${idx}/config.yml`);
  if (text === null) return {};
  try {
    // Diego ignores a config.yml it cannot read.
    return ConfigYml.safeParse(parse(text)).data ?? {};
  } catch {
    return {};
  }
}

/** launch.yml processes (sidecars left out, as Diego's result keeps them apart), or null when there is none. */
function launchOf(read: OutReader, idx: string, bp: string): Array<[string, string]> | null {
  const text = read(`deps/${idx}/launch.yml`);
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new StagingError("BuildpackReleaseFailed", `buildpack ${bp}: launch.yml is not YAML: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  const l = LaunchYml.safeParse(doc ?? {});
  if (!l.success) throw new StagingError("BuildpackReleaseFailed", `buildpack ${bp}: launch.yml is not a process list`);
  return (l.data.processes ?? []).filter((p) => !(p.platforms?.cloudfoundry?.sidecar_for ?? []).length).map((p) => [p.type, p.command]);
}

/** A Procfile as Diego reads it: YAML, a map of process type to command. */
export function readProcfileYaml(text: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new StagingError("StagerError", "Failed to read command from Procfile: invalid YAML");
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new StagingError("StagerError", "Failed to read command from Procfile: invalid YAML");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v === null || typeof v === "object") throw new StagingError("StagerError", "Failed to read command from Procfile: invalid YAML");
    out[k] = String(v);
  }
  return out;
}

/**
 * Diego's builder, after the buildpacks ran: processes from each supply
 * buildpack's launch.yml, then the final one's launch.yml or its release's
 * default_process_types, then the Procfile over them; buildpack metadata from
 * each deps/<index>/config.yml (named buildpacks: all of them; detection: the
 * detected one, named after its detect output when config.yml has no name);
 * staging_info.yml = {detected_buildpack: last name, start_command: web,
 * config}. Throws StagingError.
 */
export function readLifecycleOutputs(readOut: OutReader, procfile: string | null, job: { buildpacks: readonly { name: string }[]; detect: boolean; startCommand: string }): LifecycleOutputs {
  const read: OutReader = (rel) => {
    try {
      return readOut(rel);
    } catch {
      // A link or a non-file where a result file should be: as if it were not there.
      return null;
    }
  };
  const final = Number(read("chosen")?.trim());
  const finalBp = job.buildpacks[final];
  if (!finalBp) throw new StagingError("StagerError", "staging result names no buildpack");
  const fidx = read("depsidx")?.trim() || "0";
  const pad = fidx.length;
  const nsupply = Number(fidx);
  const idx = (i: number) => String(i).padStart(pad, "0");
  const first = final - nsupply;

  const procs: Array<[string, string]> = [];
  const merge = (list: Array<[string, string]>) => {
    for (const [t, c] of list) {
      const at = procs.findIndex(([pt]) => pt === t);
      if (at >= 0) procs[at] = [t, c];
      else procs.push([t, c]);
    }
  };
  for (let i = 0; i < nsupply; i++) merge(launchOf(read, idx(i), job.buildpacks[first + i]!.name) ?? []);
  const finalLaunch = launchOf(read, fidx, finalBp.name);
  if (finalLaunch) merge(finalLaunch);
  else {
    try {
      merge(Object.entries(parseRelease(read("release.yml") ?? "")));
    } catch (err) {
      throw new StagingError("BuildpackReleaseFailed", `buildpack ${finalBp.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (procfile !== null) merge(Object.entries(readProcfileYaml(procfile)));
  const processTypes = Object.fromEntries(procs);

  const meta = (bpIndex: number, i: number): BuildpackMetadata => {
    const c = configOf(read, idx(i));
    const m: BuildpackMetadata = { key: job.buildpacks[bpIndex]!.name, name: c.name ?? "" };
    if (c.version !== undefined && c.version !== null && String(c.version) !== "") m.version = String(c.version);
    if (c.config?.entrypoint_prefix) m.config = { entrypoint_prefix: c.config.entrypoint_prefix };
    return m;
  };
  let buildpacks: BuildpackMetadata[];
  if (!job.detect) {
    buildpacks = job.buildpacks.map((_, i) => meta(i, i));
  } else {
    const m = meta(final, 0);
    if (!m.name) m.name = read("detect")?.replace(/[\r\n]+$/, "") ?? "";
    buildpacks = [m];
  }
  const last = buildpacks[buildpacks.length - 1]!;
  const web = processTypes.web ?? "";
  const info: Record<string, unknown> = { detected_buildpack: last.name, start_command: web };
  if (last.config) info.config = last.config;
  return {
    detectedBuildpack: last.name || finalBp.name,
    buildpackName: finalBp.name,
    startCommand: job.startCommand || web,
    processTypes,
    buildpacks,
    stagingInfo: JSON.stringify(info) + "\n",
  };
}
