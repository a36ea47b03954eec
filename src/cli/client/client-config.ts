import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../../store/index.ts";

/** What `eirini login` remembers: target, tokens, org and space (file mode 0600). */
export const ClientConfig = z.object({
  api: z.string().url().default("http://127.0.0.1:7080"),
  access_token: z.string().default(""),
  refresh_token: z.string().default(""),
  token_endpoint: z.string().default(""),
  organization: z.string().default("eirini"),
  space: z.string().default("dev"),
});
export type ClientConfig = z.infer<typeof ClientConfig>;

/** `~/.eirini/client.json`, or `EIRINI_CLIENT_CONFIG`. */
export function clientConfigPath(env: Record<string, string | undefined>): string {
  return env.EIRINI_CLIENT_CONFIG ?? join(env.HOME ?? homedir(), ".eirini", "client.json");
}

export function readClientConfig(env: Record<string, string | undefined>): ClientConfig {
  const path = clientConfigPath(env);
  if (!existsSync(path)) return ClientConfig.parse({});
  try {
    return ClientConfig.parse(JSON.parse(readFileSync(path, "utf8")));
  } catch (err) {
    throw new Error(`${path} is not a valid eirini client config; run \`eirini login\` again`, { cause: err });
  }
}

export function writeClientConfig(env: Record<string, string | undefined>, config: ClientConfig): void {
  writeFileAtomic(clientConfigPath(env), JSON.stringify(config, null, 2) + "\n", 0o600);
}
