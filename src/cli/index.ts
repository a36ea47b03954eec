/**
 * CLI contract: `runCli(argv, io)` runs one `eirini` subcommand and resolves
 * to its exit code (0 ok, 1 failure, 2 usage). Commands are listed in
 * `commands/index.ts`; `startAppliance` is the composition root that wires
 * every part into the one HTTP server.
 */
export { runCli } from "./run.ts";
export { commands } from "./commands/index.ts";
export { CliError, UsageError, type Command, type CliIO, type CommandContext } from "./command.ts";
export { startAppliance, type Appliance, type StartOptions } from "./appliance.ts";
export type { AppliancePart, PartContext } from "../part/index.ts";
