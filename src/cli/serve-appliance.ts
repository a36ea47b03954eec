import type { Config } from "../config/index.ts";
import { createLogger, type Logger } from "../log/index.ts";
import { startAppliance, type Appliance } from "./appliance.ts";
import type { CliIO } from "./command.ts";

/** Keeps a generated admin password out of stdout: stores it and says where ("<ns>/<name>"). */
export interface AdminPasswordKeeper {
  store(password: string): Promise<string>;
  howToRead(where: string): string;
}

/**
 * Runs the appliance in the foreground: starts it, prints where it listens
 * (and the generated admin password, once), and stops it gracefully on
 * SIGINT or SIGTERM. Shared by `eirini local` and `eirini in-cluster`.
 */
export async function serveAppliance(config: Config, io: CliIO, describe: (a: Appliance) => string, keep?: AdminPasswordKeeper): Promise<number> {
  const logger: Logger = createLogger({ level: config.logLevel, format: config.logFormat });
  let keptAt: string | undefined;
  const appliance = await startAppliance({
    config,
    logger,
    env: io.env,
    // In a cluster stdout is pod logs: the password goes to a Secret instead, and only where it is gets printed.
    ...(keep ? { keepAdminPassword: async (pw: string) => void (keptAt = await keep.store(pw)) } : {}),
    onAdminPassword: (pw) => (keep ? io.out(`admin password generated and kept in Secret ${keptAt} (key "password"): ${keep.howToRead(keptAt!)}`) : io.out(`admin password (shown once, stored hashed): ${pw}`)),
  });
  io.out(describe(appliance));
  const tls = appliance.tls;
  if (tls) {
    io.out(`eirini TLS listening on ${tls.url}`);
    io.out(
      tls.caFile
        ? `TLS: certificate signed by the appliance's own CA ${tls.caFile} (SHA-256 ${tls.fingerprint}); trust that CA, or use \`cf api ${config.externalUrl ?? tls.url} --skip-ssl-validation\``
        : `TLS: the configured certificate ${config.tls.certFile} (SHA-256 ${tls.fingerprint})`,
    );
  }
  if (config.externalUrl) io.out(`links point at the external URL ${config.externalUrl}`);
  logger.info("appliance ready", { url: appliance.url, ...(tls ? { tls_url: tls.url } : {}), ...(config.externalUrl ? { external_url: config.externalUrl } : {}), data_dir: config.dataDir, backend: config.backend });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info("shutting down", { signal });
      appliance.stop().then(resolve, (err: unknown) => {
        logger.error("shutdown failed", { error: err });
        resolve();
      });
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  });
  logger.info("stopped");
  return 0;
}
