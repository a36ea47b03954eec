/**
 * Configuration contract: one zod schema (`ConfigSchema`), loaded as
 * defaults < config file (YAML/JSON) < `EIRINI_*` env < command-line flags.
 * Invalid input raises `ConfigError` naming the field.
 */
export { ConfigSchema, type Config, type ConfigInput } from "./schema.ts";
export { failpoint, type FailpointName } from "./failpoint.ts";
export { loadConfig, mergeConfig, configFromEnv, ConfigError, type LoadConfigInput } from "./load.ts";
