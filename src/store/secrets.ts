import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-file.ts";
import { StoreError } from "./errors.ts";

/**
 * Reads a secret file from `<dataDir>/secrets/`, creating it with `generate()`
 * (mode 0600) on first use. Secret values are returned, never logged.
 */
export function loadOrCreateSecret(dataDir: string, name: string, generate: () => string): { value: string; created: boolean } {
  const file = join(dataDir, "secrets", name);
  if (existsSync(file)) {
    try {
      const value = readFileSync(file, "utf8").trim();
      if (value) return { value, created: false };
    } catch (err) {
      throw new StoreError(`secret file ${file} cannot be read (${(err as NodeJS.ErrnoException).code})`, { cause: err });
    }
  }
  const value = generate();
  try {
    writeFileAtomic(file, value + "\n", 0o600);
  } catch (err) {
    throw new StoreError(`secret file ${file} cannot be written (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
  return { value, created: true };
}

/** 32 random bytes as hex. */
export function randomSecret(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/** A readable random password (base64url, 24 chars). */
export function randomPassword(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
}
