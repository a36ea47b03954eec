import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import { serveAppliance } from "../serve-appliance.ts";
import type { Command } from "../command.ts";

/** `eirini local`: the all-in-one appliance on this machine, until SIGINT/SIGTERM. */
export const localCommand: Command = {
  name: "local",
  summary: "start the all-in-one appliance on this machine",
  usage: "[--port N] [--data-dir DIR] [--config FILE] [--backend local|kube]",
  help: applianceHelp,
  options: applianceOptions,
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    return serveAppliance(configFromFlags(ctx), ctx.io, (a) => `eirini listening on ${a.url}`);
  },
};
