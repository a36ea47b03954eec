import { hostname } from "node:os";
import { CliError, UsageError, type Command } from "../command.ts";

/** `eirini launch`: start an app process in a pod with CF_INSTANCE_INDEX from the pod ordinal. */
export const launchCommand: Command = {
  name: "launch",
  summary: "run an app's start command in a pod (sets CF_INSTANCE_INDEX, sources profile.d)",
  usage: "[--no-profile] [--no-index] -- COMMAND... | --install DEST",
  help: [
    "  --no-profile      run COMMAND as given (no shell, no profile.d)",
    "  --no-index        keep CF_INSTANCE_INDEX as set (tasks)",
    "  --install DEST    copy this binary to DEST (for an init container) and exit",
  ],
  options: { "no-profile": { type: "boolean" }, "no-index": { type: "boolean" }, install: { type: "string" } },
  positionals: { min: 0, max: 10_000 },
  async run(ctx) {
    // Loaded here: nothing else on the CLI needs it.
    const { installLauncher, launchPlan, runLaunch } = await import("../../opi/kube/launcher.ts");
    if (typeof ctx.values.install === "string") {
      try {
        installLauncher(ctx.values.install);
      } catch (err) {
        throw new CliError(`cannot install the launcher at ${ctx.values.install}: ${(err as Error).message}`);
      }
      return 0;
    }
    if (ctx.positionals.length === 0) throw new UsageError("missing start command");
    const plan = launchPlan(ctx.positionals, ctx.io.env, { noProfile: ctx.values["no-profile"] === true, noIndex: ctx.values["no-index"] === true, hostname: hostname() });
    try {
      return await runLaunch(plan);
    } catch (err) {
      throw new CliError(`cannot start ${JSON.stringify(plan.argv[0])}: ${(err as Error).message}`, 127);
    }
  },
};
