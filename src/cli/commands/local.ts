import { createLogger } from "../../log/index.ts";
import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import { startAppliance } from "../appliance.ts";
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
    const config = configFromFlags(ctx);
    const logger = createLogger({ level: config.logLevel, format: config.logFormat });
    const appliance = await startAppliance({
      config,
      logger,
      env: ctx.io.env,
      onAdminPassword: (pw) => ctx.io.out(`admin password (shown once, stored hashed): ${pw}`),
    });
    ctx.io.out(`eirini listening on ${appliance.url}`);
    logger.info("appliance ready", { url: appliance.url, data_dir: config.dataDir, backend: config.backend });
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        logger.info("shutting down", { signal });
        appliance.stop().then(resolve, (err: unknown) => {
          logger.error("shutdown failed", { error: err });
          resolve();
        });
      };
      process.once("SIGINT", () => shutdown("SIGINT"));
      process.once("SIGTERM", () => shutdown("SIGTERM"));
    });
    logger.info("stopped");
    return 0;
  },
};
