import { UsageError, type Command } from "../command.ts";
import { VERSION } from "./version.ts";

/** `eirini install`: print the manifests that run the appliance in a cluster. */
export const installCommand: Command = {
  name: "install",
  summary: "print Kubernetes manifests for the appliance (eirini install | kubectl apply -f -)",
  usage: "[--namespace NS] [--apps-namespace NS] [--image IMAGE] [--storage SIZE] [--domain DOMAIN] [--registry-node-port N]",
  help: [
    "  --namespace NS           namespace of the appliance (default eirini)",
    "  --apps-namespace NS      namespace of the apps (default eirini-apps)",
    `  --image IMAGE            appliance image (default eirini/eirini:${VERSION})`,
    "  --storage SIZE           data volume size (default 10Gi)",
    "  --domain DOMAIN          app route domain (default apps.localhost)",
    "  --registry-node-port N   NodePort kubelets pull images from (default 30080)",
  ],
  options: {
    namespace: { type: "string" },
    "apps-namespace": { type: "string" },
    image: { type: "string" },
    storage: { type: "string" },
    domain: { type: "string" },
    "registry-node-port": { type: "string" },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const { installManifests } = await import("../../opi/kube/manifests.ts");
    const v = ctx.values as Record<string, string | undefined>;
    const label = (flag: string, value: string) => {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) || value.length > 63) throw new UsageError(`--${flag} must be a DNS-1123 label, got ${JSON.stringify(value)}`);
      return value;
    };
    const nodePort = Number(v["registry-node-port"] ?? "30080");
    if (!Number.isInteger(nodePort) || nodePort < 30000 || nodePort > 32767) throw new UsageError("--registry-node-port must be in 30000-32767");
    const storage = v.storage ?? "10Gi";
    if (!/^\d+(Mi|Gi|Ti)$/.test(storage)) throw new UsageError(`--storage must look like 10Gi, got ${JSON.stringify(storage)}`);
    ctx.io.out(
      installManifests({
        namespace: label("namespace", v.namespace ?? "eirini"),
        appsNamespace: label("apps-namespace", v["apps-namespace"] ?? "eirini-apps"),
        image: v.image ?? `eirini/eirini:${VERSION}`,
        storage,
        domain: v.domain ?? "apps.localhost",
        registryNodePort: nodePort,
      }).trimEnd(),
    );
    return 0;
  },
};
