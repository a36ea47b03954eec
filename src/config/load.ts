import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigSchema, type Config } from "./schema.ts";

/** A configuration problem; the message names the file or field at fault. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge where later sources win key by key. */
export function mergeConfig(...sources: Tree[]): Tree {
  const out: Tree = {};
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      out[k] = isTree(v) && isTree(out[k]) ? mergeConfig(out[k] as Tree, v) : v;
    }
  }
  return out;
}

function readConfigFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`config file ${path} cannot be read (${code})`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  if (parsed == null) return {};
  if (!isTree(parsed)) throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  return parsed;
}

const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Env values are strings; numbers, booleans and JSON lists are read as such. */
function envValue(raw: string): unknown {
  const t = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(t) || t === "true" || t === "false" || t.startsWith("[") || t.startsWith("{")) {
    try {
      return JSON.parse(t);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** `EIRINI_LOG_FORMAT=json` -> logFormat; `EIRINI_CELLS__COUNT=4` -> cells.count. */
export function configFromEnv(env: Record<string, string | undefined>): Tree {
  const out: Tree = {};
  const skip = new Set(["EIRINI_ADMIN_PASSWORD", "EIRINI_CONFIG", "EIRINI_TEST_FAILPOINT", "EIRINI_TEST_FAILPOINT_FILE", "EIRINI_BIN"]);
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith("EIRINI_") || raw === undefined || skip.has(key)) continue;
    const path = key.slice(7).split("__").map(camel);
    let node = out;
    path.forEach((p, i) => {
      if (i === path.length - 1) node[p] = envValue(raw);
      else node = (node[p] = isTree(node[p]) ? node[p] : {}) as Tree;
    });
  }
  return out;
}

export interface LoadConfigInput {
  file?: string;
  env?: Record<string, string | undefined>;
  flags?: Tree;
}

/** defaults < config file < EIRINI_* environment < flags, validated by one schema. */
export function loadConfig(input: LoadConfigInput = {}): Config {
  const env = input.env ?? {};
  const file = input.file ?? env.EIRINI_CONFIG;
  const merged = mergeConfig(file ? readConfigFile(file) : {}, configFromEnv(env), input.flags ?? {});
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join(".") || "(root)";
    throw new ConfigError(`invalid config: ${field}: ${issue.message}`);
  }
  return result.data;
}
