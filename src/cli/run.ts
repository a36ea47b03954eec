import { parseArgs } from "node:util";
import { ConfigError } from "../config/index.ts";
import { StoreError } from "../store/index.ts";
import { CliError, UsageError, type CliIO, type Command } from "./command.ts";
import { commands as allCommands } from "./commands/index.ts";

function mainUsage(commands: Command[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "usage: eirini <command> [flags]",
    "",
    "Cloud Foundry's cf push experience as one binary, on Kubernetes or on this machine.",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `eirini <command> --help` for a command's flags.",
  ];
}

function commandUsage(cmd: Command): string[] {
  return [`usage: eirini ${cmd.name}${cmd.usage ? " " + cmd.usage : ""}`, "", cmd.summary, ...(cmd.help?.length ? ["", "flags:", ...cmd.help] : [])];
}

/** Runs `eirini` with `argv` (without the program name); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIO, commands: Command[] = allCommands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const target = name === "help" && rest[0] ? commands.find((c) => c.name === rest[0]) : undefined;
    (target ? commandUsage(target) : mainUsage(commands)).forEach((l) => io.out(l));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") return runCli(["version"], io, commands);
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.err(`eirini: unknown command ${JSON.stringify(name)}`);
    mainUsage(commands).forEach((l) => io.err(l));
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    commandUsage(cmd).forEach((l) => io.out(l));
    return 0;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (err) {
      // node:util appends advice about positionals that does not apply to our commands.
      const msg = (err as Error).message.split("\n")[0]!.split(". To specify a positional")[0]!;
      throw new UsageError(msg, { cause: err });
    }
    const { min, max } = cmd.positionals ?? { min: 0, max: Infinity };
    if (parsed.positionals.length < min) throw new UsageError(`missing argument`);
    if (parsed.positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
    return await cmd.run({ values: parsed.values, positionals: parsed.positionals, io });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`eirini ${cmd.name}: ${err.message}`);
      commandUsage(cmd).forEach((l) => io.err(l));
      return 2;
    }
    if (err instanceof CliError) {
      io.err(`eirini ${cmd.name}: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ConfigError || err instanceof StoreError) {
      io.err(`eirini ${cmd.name}: ${err.message}`);
      return 1;
    }
    io.err(`eirini ${cmd.name}: ${(err as Error)?.message ?? String(err)}`);
    if (io.env.EIRINI_DEBUG) io.err(String((err as Error)?.stack));
    return 1;
  }
}
