import type { Store } from "../store/index.ts";
import { loadOrCreateSecret, randomPassword, randomSecret } from "../store/index.ts";

export interface FirstStartResult {
  /** Token-signing secret (HMAC key); stays in memory, never logged. */
  tokenKey: string;
  /** Set only when the admin password was generated on this start, to print once. */
  generatedAdminPassword?: string;
}

/**
 * First-start set-up, idempotent on every later start: the `admin` user
 * (password from EIRINI_ADMIN_PASSWORD or generated) and the token-signing
 * secret file (mode 0600).
 */
export async function firstStart(store: Store, env: Record<string, string | undefined>, keepGenerated?: (password: string) => Promise<void>): Promise<FirstStartResult> {
  const { value: tokenKey } = loadOrCreateSecret(store.dataDir, "token-signing.key", () => randomSecret(32));
  if (store.users.find("admin")) return { tokenKey };
  const given = env.EIRINI_ADMIN_PASSWORD;
  const password = given && given.length > 0 ? given : randomPassword();
  // Kept (e.g. in a Kubernetes Secret) before the user exists: a password nobody can read would lock admin out for good.
  if (!given && keepGenerated) await keepGenerated(password);
  await store.users.create("admin", password, ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write", "openid", "registry.push", "registry.pull"]);
  return given ? { tokenKey } : { tokenKey, generatedAdminPassword: password };
}
