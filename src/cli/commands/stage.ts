import { copyFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { createStaging, installBuiltinBuildpacks } from "../../st8ge/index.ts";
import { openStore } from "../../store/index.ts";
import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import { CliError, UsageError, type Command } from "../command.ts";

function list(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : typeof v === "string" ? [v] : [];
}

function positiveInt(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^[1-9]\d*$/.test(v)) throw new UsageError(`--${flag} must be a whole number above 0, got ${JSON.stringify(v)}`);
  return Number(v);
}

/**
 * `eirini stage DIR|ZIP -o droplet.tgz`: stages an app by hand with the
 * buildpacks of the data dir (built-ins installed if needed), streaming the
 * staging log; needs no running appliance. The app's buildpack cache is kept
 * per source path, so staging the same directory again reuses it.
 */
export const stageCommand: Command = {
  name: "stage",
  summary: "stage an app directory, zip or tar into a droplet with buildpacks",
  usage: "DIR|ZIP|TAR -o DROPLET.tgz [-b BUILDPACK]... [--env K=V]... [-c COMMAND] [--memory MB] [--disk MB]",
  help: [
    "  -o, --output FILE        where to write the droplet (.tgz)",
    "  -b, --buildpack NAME     buildpack to use (repeat for multi-buildpack; default: autodetect)",
    "  --env K=V                app environment variable (repeatable)",
    "  -c, --start-command CMD  start command (overrides Procfile and buildpack)",
    "  --memory MB              staging memory limit (default 1024)",
    "  --disk MB                staging disk limit (default 1024)",
    ...applianceHelp,
  ],
  options: {
    ...applianceOptions,
    output: { type: "string", short: "o" },
    buildpack: { type: "string", short: "b", multiple: true },
    env: { type: "string", multiple: true },
    "start-command": { type: "string", short: "c" },
    memory: { type: "string" },
    disk: { type: "string" },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const output = ctx.values.output;
    if (typeof output !== "string" || !output) throw new UsageError("-o DROPLET.tgz is required");
    const environment: Record<string, string> = {};
    for (const kv of list(ctx.values.env)) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`--env wants K=V, got ${JSON.stringify(kv)}`);
      environment[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const memory = positiveInt("memory", ctx.values.memory);
    const disk = positiveInt("disk", ctx.values.disk);
    const source = resolve(ctx.positionals[0]!);
    const config = configFromFlags(ctx);
    const store = openStore(config.dataDir);
    // The data dir's runtime store is served to the staging on a loopback port of its own (buildpacks fetch node, python, ... from it).
    let close = () => {};
    try {
      const staging = createStaging({
        store,
        config,
        logSink: { append: (l) => (l.stream === "ERR" ? ctx.io.err(l.message) : ctx.io.out(l.message)) },
        tokenKey: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex"),
      });
      close = staging.close;
      await installBuiltinBuildpacks(staging.buildpacks, store.settings);
      const appGuid = `cli-${new Bun.CryptoHasher("sha256").update(source).digest("hex").slice(0, 32)}`;
      const handle = staging.stager.stage(
        {
          staging_guid: crypto.randomUUID(),
          app_guid: appGuid,
          app_name: basename(source),
          environment,
          buildpacks: list(ctx.values.buildpack).map((name) => ({ name, skip_detect: true })),
          start_command: typeof ctx.values["start-command"] === "string" ? ctx.values["start-command"] : "",
          ...(memory ? { memory_mb: memory } : {}),
          ...(disk ? { disk_mb: disk } : {}),
        },
        source,
      );
      const onSignal = () => handle.cancel();
      process.once("SIGINT", onSignal);
      let result;
      try {
        result = await handle.result;
      } catch (err) {
        throw new CliError((err as Error).message, 1, { cause: err });
      } finally {
        process.off("SIGINT", onSignal);
      }
      const blob = `sha256:${result.droplet_hash}`;
      const dest = resolve(output);
      const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}`);
      try {
        copyFileSync(store.blobs.path(blob), tmp);
        renameSync(tmp, dest);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw new CliError(`cannot write ${dest}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1, { cause: err });
      } finally {
        // The droplet only lives in the output file; the data dir keeps no stray copy.
        store.blobs.delete(blob);
      }
      ctx.io.out(`droplet:            ${dest}`);
      ctx.io.out(`sha256:             ${result.droplet_hash}`);
      ctx.io.out(`detected buildpack: ${result.detected_buildpack}`);
      ctx.io.out(`start command:      ${result.start_command || "(none)"}`);
      return 0;
    } finally {
      close();
      store.close();
    }
  },
};
