import { existsSync } from "node:fs";
import { ConfigSchema } from "../../config/index.ts";
import { applianceHelp, applianceOptions, configFromFlags } from "../appliance-flags.ts";
import { serveAppliance } from "../serve-appliance.ts";
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
    const base = configFromFlags(ctx);
    // In a pod: the kube backend with the service account, listening on every interface, routing to pod IPs.
    const config = ConfigSchema.parse({
      ...base,
      backend: "kube",
      host: ctx.values.host === undefined && base.host === "127.0.0.1" ? "0.0.0.0" : base.host,
      kube: { ...base.kube, inCluster: true, routeVia: base.kube.routeVia === "auto" ? "pod-ip" : base.kube.routeVia },
    });
    const keep = {
      async store(password: string) {
        const { createKubeClient } = await import("../../opi/kube/index.ts");
        const { storeAdminSecret } = await import("../../opi/kube/admin-secret.ts");
        const k = config.kube;
        return storeAdminSecret(await createKubeClient({ kubeconfig: k.kubeconfig, context: k.context, inCluster: k.inCluster, namespace: k.namespace, timeoutMs: k.requestTimeoutMs }), password);
      },
      howToRead: (where: string) => {
        const [ns, name] = where.split("/");
        return `kubectl -n ${ns} get secret ${name} -o jsonpath='{.data.password}' | base64 -d`;
      },
    };
    return serveAppliance(config, ctx.io, (a) => `eirini listening on ${a.url} (in-cluster, apps in namespace ${config.kube.namespace})`, keep);
  },
};
