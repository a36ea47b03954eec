import type { ParseArgsOptionsConfig } from "node:util";
import { loadConfig, type Config } from "../config/index.ts";
import type { CommandContext } from "./command.ts";
import { UsageError } from "./command.ts";

/** Flags shared by every command that opens the appliance's config and data. */
export const applianceOptions: ParseArgsOptionsConfig = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  backend: { type: "string" },
  cells: { type: "string" },
  "tls-port": { type: "string" },
  "external-url": { type: "string" },
};

export const applianceHelp = [
  "  --config FILE        YAML or JSON config file (also EIRINI_CONFIG)",
  "  --data-dir DIR       data directory (default ~/.eirini; EIRINI_DATA_DIR)",
  "  --host ADDR          listen address (default 127.0.0.1)",
  "  --port N             listen port (default 7080; 0 picks a free one)",
  "  --log-level LEVEL    debug | info | warn | error",
  "  --log-format FORMAT  text | json",
  "  --backend NAME       local | kube",
  "  --cells N            number of local cells",
  "  --tls-port N         also serve HTTPS on port N (0 picks a free one; certificate: tls.certFile/keyFile or generated)",
  "  --external-url URL   the URL users reach the appliance at; every link starts with it",
];

function int(flag: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^\d+$/.test(raw)) throw new UsageError(`--${flag} must be a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Turns the shared flags into config (flags win over env, file and defaults). */
export function configFromFlags(ctx: CommandContext): Config {
  const v = ctx.values;
  const cells = int("cells", v.cells);
  const tlsPort = int("tls-port", v["tls-port"]);
  const flags = {
    dataDir: v["data-dir"],
    host: v.host,
    port: int("port", v.port),
    logLevel: v["log-level"],
    logFormat: v["log-format"],
    backend: v.backend,
    cells: cells === undefined ? undefined : { count: cells },
    tls: tlsPort === undefined ? undefined : { port: tlsPort },
    externalUrl: v["external-url"],
  };
  return loadConfig({ file: v.config as string | undefined, env: ctx.io.env, flags });
}
