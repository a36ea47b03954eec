import type { KubeClient } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import { LABEL, MANAGED_BY } from "./keys.ts";

/** Where a generated admin password is kept in a cluster (never in pod logs). */
export const ADMIN_SECRET = "eirini-admin";

/**
 * Stores the generated admin password in the Secret `eirini-admin` (keys
 * `username`, `password`) of the client's namespace; returns "<ns>/<name>".
 * Called before the admin user is created, so a password that could not be
 * kept is never the only copy.
 */
export async function storeAdminSecret(client: KubeClient, password: string): Promise<string> {
  const want = {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name: ADMIN_SECRET, namespace: client.namespace, labels: { [LABEL.managedBy]: MANAGED_BY } },
    data: { username: Buffer.from("admin").toString("base64"), password: Buffer.from(password).toString("base64") },
  };
  try {
    await client.create("secrets", want);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.alreadyExists)) throw err;
    const cur = await client.get("secrets", ADMIN_SECRET);
    await client.replace("secrets", ADMIN_SECRET, { ...want, metadata: { ...want.metadata, resourceVersion: cur?.metadata?.resourceVersion } });
  }
  return `${client.namespace}/${ADMIN_SECRET}`;
}
