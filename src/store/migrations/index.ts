import type { Migration } from "../migrate.ts";
import core from "./0001_core.ts";

/**
 * Every migration, in order. Imported statically so `bun build --compile`
 * embeds them in the binary. Numbers are never reused or edited once shipped.
 */
export const migrations: Migration[] = [core];
