/**
 * The resource kinds the emulator serves, keyed by their REST plural. Paths
 * follow the real API server: core is `/api/v1/...`, named groups are
 * `/apis/<group>/<version>/...`.
 */
export interface ResourceInfo {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Whether `/status` is a separate subresource (main updates ignore status, status updates ignore spec). */
  statusSubresource: boolean;
  /** Name rule: DNS-1123 label, DNS-1035 label (Services) or DNS-1123 subdomain. */
  nameRule: "label" | "label1035" | "subdomain";
}

const list: ResourceInfo[] = [
  { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false, statusSubresource: true, nameRule: "label" },
  { group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true, statusSubresource: true, nameRule: "subdomain" },
  { group: "", version: "v1", resource: "services", kind: "Service", namespaced: true, statusSubresource: true, nameRule: "label1035" },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true, statusSubresource: false, nameRule: "subdomain" },
  { group: "", version: "v1", resource: "events", kind: "Event", namespaced: true, statusSubresource: false, nameRule: "subdomain" },
  { group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", namespaced: true, statusSubresource: true, nameRule: "label" },
  { group: "batch", version: "v1", resource: "jobs", kind: "Job", namespaced: true, statusSubresource: true, nameRule: "subdomain" },
  { group: "policy", version: "v1", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true, statusSubresource: true, nameRule: "subdomain" },
  { group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress", namespaced: true, statusSubresource: true, nameRule: "subdomain" },
];

export const resources = new Map(list.map((r) => [r.resource, r]));

/** `statefulsets.apps`, `pods`: how the API server names a resource in messages. */
export function qualified(info: ResourceInfo): string {
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

export function apiVersion(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Finds the resource a URL path names, or undefined. */
export function resourceFor(group: string, version: string, plural: string): ResourceInfo | undefined {
  const r = resources.get(plural);
  return r && r.group === group && r.version === version ? r : undefined;
}
