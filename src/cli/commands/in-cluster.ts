import { existsSync } from "node:fs";
import { applianceHelp, applianceOptions } from "../appliance-flags.ts";
import { CliError, type Command } from "../command.ts";

const TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** `eirini in-cluster`: the appliance as a pod, using the service-account config. */
export const inClusterCommand: Command = {
  name: "in-cluster",
  summary: "start the appliance inside a Kubernetes pod (service-account config)",
  usage: "[--port N] [--data-dir DIR] [--config FILE]",
  help: applianceHelp,
  options: applianceOptions,
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    if (!ctx.io.env.KUBERNETES_SERVICE_HOST || !existsSync(TOKEN)) {
      throw new CliError("not running inside a Kubernetes pod (no KUBERNETES_SERVICE_HOST or service-account token); use `eirini local` on a workstation");
    }
    throw new CliError("in-cluster operation needs the Kubernetes backend, which this build does not include yet; run `eirini local` instead");
  },
};
