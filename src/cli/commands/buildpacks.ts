import { resolve } from "node:path";
import { BuildpackError, BuildpackStore, installBuiltinBuildpacks } from "../../st8ge/index.ts";
import { openStore } from "../../store/index.ts";
import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import { CliError, UsageError, type Command } from "../command.ts";

const VERBS: Record<string, number> = { add: 2, list: 0, delete: 1, enable: 1, disable: 1, lock: 1, unlock: 1 };

/** `eirini buildpacks add|list|delete|enable|disable|lock|unlock`: the admin buildpack store of the data dir. */
export const buildpacksCommand: Command = {
  name: "buildpacks",
  summary: "manage admin buildpacks (add, list, delete, enable, disable, lock, unlock)",
  usage: "add NAME ZIP|DIR [--position N] [--stack S] | list | delete NAME | enable NAME | disable NAME | lock NAME | unlock NAME",
  help: ["  --position N         place in autodetection order (1 = first; default last)", "  --stack S            stack the buildpack is for (default: any)", ...applianceHelp],
  options: { ...applianceOptions, position: { type: "string" }, stack: { type: "string" } },
  positionals: { min: 1, max: 3 },
  async run(ctx) {
    const [verb, name, path] = ctx.positionals as [string, string?, string?];
    const want = VERBS[verb];
    if (want === undefined) throw new UsageError(`unknown verb ${JSON.stringify(verb)}`);
    if (ctx.positionals.length - 1 !== want) throw new UsageError(`${verb} takes ${want === 0 ? "no arguments" : want === 1 ? "NAME" : "NAME ZIP|DIR"}`);
    const pos = ctx.values.position;
    if (pos !== undefined && (typeof pos !== "string" || !/^[1-9]\d*$/.test(pos))) throw new UsageError(`--position must be a whole number from 1, got ${JSON.stringify(pos)}`);
    const config = configFromFlags(ctx);
    const store = openStore(config.dataDir);
    try {
      const bps = new BuildpackStore(store.db, store.blobs);
      await installBuiltinBuildpacks(bps, store.settings);
      switch (verb) {
        case "list": {
          const rows = bps.list();
          const w = Math.max(4, ...rows.map((b) => b.name.length));
          ctx.io.out(`${"position".padEnd(9)}${"name".padEnd(w + 2)}${"stack".padEnd(12)}${"enabled".padEnd(9)}${"locked".padEnd(8)}filename`);
          for (const b of rows) {
            ctx.io.out(`${String(b.position).padEnd(9)}${b.name.padEnd(w + 2)}${(b.stack ?? "").padEnd(12)}${String(b.enabled).padEnd(9)}${String(b.locked).padEnd(8)}${b.filename ?? ""}`);
          }
          return 0;
        }
        case "add": {
          const b = await bps.add({ name: name!, ...(pos ? { position: Number(pos) } : {}), ...(typeof ctx.values.stack === "string" ? { stack: ctx.values.stack } : {}) }, resolve(path!));
          ctx.io.out(`buildpack ${b.name} added at position ${b.position} (${b.blob_digest})`);
          return 0;
        }
        case "delete":
          bps.delete(name!);
          ctx.io.out(`buildpack ${name} deleted`);
          return 0;
        default: {
          const patch = verb === "enable" || verb === "disable" ? { enabled: verb === "enable" } : { locked: verb === "lock" };
          bps.update(name!, { ...patch, ...(pos ? { position: Number(pos) } : {}) });
          ctx.io.out(`buildpack ${name} ${verb}${verb.endsWith("e") ? "d" : "ed"}`);
          return 0;
        }
      }
    } catch (err) {
      if (err instanceof BuildpackError) throw new CliError(err.message, 1, { cause: err });
      throw err;
    } finally {
      store.close();
    }
  },
};
