import type { Migration } from "../migrate.ts";
import core from "./0001_core.ts";
import registry from "./0002_registry.ts";
import staging from "./0003_staging.ts";
import opiLocal from "./0004_opi_local.ts";
import cc from "./0005_cc.ts";
import kube from "./0006_kube.ts";
import logs from "./0007_logs.ts";
import ccMetadata from "./0008_cc_metadata.ts";
import uaaTokens from "./0009_uaa_tokens.ts";
import ccPlatform from "./0011_cc_platform.ts";
import ccAppFeatures from "./0012_cc_app_features.ts";

/**
 * Every migration, in order. Imported statically so `bun build --compile`
 * embeds them in the binary. Numbers are never reused, and a shipped
 * migration is never edited; one part owns each file.
 */
export const migrations: Migration[] = [core, registry, staging, opiLocal, cc, kube, logs, ccMetadata, uaaTokens, ccPlatform, ccAppFeatures];
