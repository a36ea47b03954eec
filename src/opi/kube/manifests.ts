import { stringify } from "yaml";

/**
 * `eirini install`: the manifests that run the appliance inside a cluster,
 * for `eirini install | kubectl apply -f -`. Least privilege: the appliance's
 * ServiceAccount gets a Role in the apps namespace only, with exactly the
 * verbs the backend uses.
 */
export interface InstallOptions {
  namespace: string;
  appsNamespace: string;
  image: string;
  storage: string;
  domain: string;
  /** NodePort on which kubelets reach the embedded registry (localhost pulls need no TLS). */
  registryNodePort: number;
}

export const APPLIANCE_RULES = [
  { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "delete"] },
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  { apiGroups: [""], resources: ["services", "secrets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
  { apiGroups: [""], resources: ["services/proxy"], verbs: ["get", "create", "update", "patch", "delete"] },
  { apiGroups: [""], resources: ["events"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch", "create", "delete"] },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
];

export function installManifests(o: InstallOptions): string {
  const labels = { "app.kubernetes.io/name": "eirini", "app.kubernetes.io/managed-by": "eirini-install" };
  const config = {
    backend: "kube",
    host: "0.0.0.0",
    port: 7080,
    dataDir: "/data",
    router: { domain: o.domain },
    kube: { inCluster: true, namespace: o.appsNamespace, registryAddress: `127.0.0.1:${o.registryNodePort}`, routeVia: "pod-ip", launcherImage: o.image },
  };
  const docs: object[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: o.namespace, labels } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: o.appsNamespace, labels } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "eirini", namespace: o.namespace, labels } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "eirini-apps", namespace: o.appsNamespace, labels }, rules: APPLIANCE_RULES },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "eirini-apps", namespace: o.appsNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "eirini-apps" },
      subjects: [{ kind: "ServiceAccount", name: "eirini", namespace: o.namespace }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "eirini-config", namespace: o.namespace, labels }, data: { "config.yaml": stringify(config) } },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "eirini-data", namespace: o.namespace, labels },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: o.storage } } },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "eirini", namespace: o.namespace, labels },
      spec: {
        replicas: 1,
        // One writer on a ReadWriteOnce volume: never two pods at once.
        strategy: { type: "Recreate" },
        selector: { matchLabels: { "app.kubernetes.io/name": "eirini" } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "eirini",
            securityContext: { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000 },
            containers: [
              {
                name: "eirini",
                image: o.image,
                args: ["in-cluster", "--config", "/etc/eirini/config.yaml"],
                ports: [{ name: "http", containerPort: 7080 }],
                readinessProbe: { httpGet: { path: "/readyz", port: 7080 }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: "/healthz", port: 7080 }, initialDelaySeconds: 10, periodSeconds: 10 },
                resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                volumeMounts: [
                  { name: "data", mountPath: "/data" },
                  { name: "config", mountPath: "/etc/eirini" },
                ],
              },
            ],
            volumes: [
              { name: "data", persistentVolumeClaim: { claimName: "eirini-data" } },
              { name: "config", configMap: { name: "eirini-config" } },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "eirini", namespace: o.namespace, labels },
      spec: {
        // One port serves the CF API, the registry (/v2) and the router (by Host); the NodePort is how kubelets pull images.
        type: "NodePort",
        selector: { "app.kubernetes.io/name": "eirini" },
        ports: [{ name: "http", port: 7080, targetPort: 7080, nodePort: o.registryNodePort }],
      },
    },
  ];
  return docs.map((d) => "---\n" + stringify(d)).join("");
}
