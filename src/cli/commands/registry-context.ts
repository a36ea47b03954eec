import { createLogger } from "../../log/index.ts";
import { createRegistry, type Registry } from "../../registry/index.ts";
import { loadOrCreateSecret, openStore, randomSecret, type Store } from "../../store/index.ts";
import { configFromFlags } from "../appliance-flags.ts";
import { CliError, type CommandContext } from "../command.ts";

/**
 * Opens the data directory (shared appliance flags) and a registry over it
 * for one CLI command, closing the store afterwards. SQLite's locking lets
 * this run beside a live appliance.
 */
export async function withRegistry<T>(ctx: CommandContext, fn: (registry: Registry, store: Store) => Promise<T>): Promise<T> {
  const config = configFromFlags(ctx);
  const logger = createLogger({ level: config.logLevel === "info" ? "warn" : config.logLevel, format: config.logFormat });
  const store = openStore(config.dataDir);
  try {
    const tokenKey = loadOrCreateSecret(store.dataDir, "token-signing.key", () => randomSecret(32)).value;
    return await fn(createRegistry({ store, config, tokenKey, logger }), store);
  } catch (err) {
    if ((err as Error).name === "RegistryError") throw new CliError((err as Error).message, 1, { cause: err });
    throw err;
  } finally {
    store.close();
  }
}
