import type { KubeClient } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import { LABEL, MANAGED_BY } from "./keys.ts";

/**
 * The image pull secret kubelets use for the embedded registry: a
 * `kubernetes.io/dockerconfigjson` Secret, created when missing and
 * rewritten when the credentials or the address changed (compare first,
 * so a steady state sends nothing but one read).
 */
export function dockerConfigJson(registry: string, username: string, password: string): string {
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [registry]: { username, password, auth } } });
}

export async function ensurePullSecret(client: KubeClient, name: string, registry: string, creds: { username: string; password: string }): Promise<"created" | "updated" | "unchanged"> {
  const data = { ".dockerconfigjson": Buffer.from(dockerConfigJson(registry, creds.username, creds.password)).toString("base64") };
  const want = {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    metadata: { name, namespace: client.namespace, labels: { [LABEL.managedBy]: MANAGED_BY } },
    data,
  };
  const cur = await client.get("secrets", name);
  if (!cur) {
    try {
      await client.create("secrets", want);
      return "created";
    } catch (err) {
      if (!(err instanceof KubeApiError && err.alreadyExists)) throw err;
      return ensurePullSecret(client, name, registry, creds);
    }
  }
  if (cur.type === want.type && cur.data?.[".dockerconfigjson"] === data[".dockerconfigjson"]) return "unchanged";
  await client.replace("secrets", name, { ...want, metadata: { ...want.metadata, resourceVersion: cur.metadata?.resourceVersion } });
  return "updated";
}
