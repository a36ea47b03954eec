import { join, resolve } from "node:path";
import { addRuntimeArchive, RuntimeError, RuntimeStore } from "../../st8ge/index.ts";
import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import { CliError, UsageError, type Command } from "../command.ts";

/** `eirini runtimes add|list|delete`: the runtime dependencies the built-in buildpacks install (node, python, ruby, go). */
export const runtimesCommand: Command = {
  name: "runtimes",
  summary: "manage runtime dependencies for the built-in buildpacks (add, list, delete)",
  usage: "add FILE [--name N --version V --stack S [--sha256 HEX]] | list | delete NAME VERSION STACK",
  help: [
    "  add FILE             an offline archive: tar[.gz] with manifest.yml (CF manifest `dependencies:`",
    "                       entries: name, version, cf_stacks, sha256, file) and the files it names;",
    "                       with --name/--version/--stack, FILE is one runtime .tgz",
    "  list                 name, version, stack, sha256 of every runtime",
    "  delete N V S         remove one runtime",
    ...applianceHelp,
  ],
  options: { ...applianceOptions, name: { type: "string" }, version: { type: "string" }, stack: { type: "string" }, sha256: { type: "string" } },
  positionals: { min: 1, max: 4 },
  async run(ctx) {
    const [verb, ...args] = ctx.positionals as [string, ...string[]];
    const config = configFromFlags(ctx);
    const store = new RuntimeStore(join(config.dataDir, "runtimes"));
    const str = (k: string) => (typeof ctx.values[k] === "string" ? (ctx.values[k] as string) : undefined);
    try {
      switch (verb) {
        case "list": {
          if (args.length) throw new UsageError("list takes no arguments");
          const rows = store.list();
          const w = Math.max(4, ...rows.map((d) => d.name.length));
          const v = Math.max(7, ...rows.map((d) => d.version.length));
          const s = Math.max(5, ...rows.map((d) => d.stack.length));
          ctx.io.out(`${"name".padEnd(w + 2)}${"version".padEnd(v + 2)}${"stack".padEnd(s + 2)}${"size".padEnd(10)}sha256`);
          for (const d of rows) ctx.io.out(`${d.name.padEnd(w + 2)}${d.version.padEnd(v + 2)}${d.stack.padEnd(s + 2)}${`${(d.size / 1048576).toFixed(1)}M`.padEnd(10)}${d.sha256}`);
          return 0;
        }
        case "add": {
          if (args.length !== 1) throw new UsageError("add takes FILE");
          const file = resolve(args[0]!);
          const [name, version, stack] = [str("name"), str("version"), str("stack")];
          if (name || version || stack) {
            if (!name || !version || !stack) throw new UsageError("--name, --version and --stack go together");
            const d = await store.addFile({ name, version, stack }, file, str("sha256"));
            ctx.io.out(`runtime ${d.name} ${d.version} (${d.stack}) added: sha256:${d.sha256}`);
            return 0;
          }
          const added = await addRuntimeArchive(store, file);
          for (const d of added) ctx.io.out(`runtime ${d.name} ${d.version} (${d.stack}) added: sha256:${d.sha256}`);
          return 0;
        }
        case "delete": {
          if (args.length !== 3) throw new UsageError("delete takes NAME VERSION STACK");
          if (!store.delete({ name: args[0]!, version: args[1]!, stack: args[2]! })) throw new CliError(`runtime ${args[0]} ${args[1]} (${args[2]}) is not in the store`, 1);
          ctx.io.out(`runtime ${args[0]} ${args[1]} (${args[2]}) deleted`);
          return 0;
        }
        default:
          throw new UsageError(`unknown verb ${JSON.stringify(verb)}`);
      }
    } catch (err) {
      if (err instanceof RuntimeError) throw new CliError(err.message, 1, { cause: err });
      throw err;
    }
  },
};
