import type { Command } from "../command.ts";
import { inClusterCommand } from "./in-cluster.ts";
import { localCommand } from "./local.ts";
import { versionCommand } from "./version.ts";

/** Every `eirini` subcommand, in the order `eirini --help` lists them. */
export const commands: Command[] = [localCommand, inClusterCommand, versionCommand];
