import { RegistryError } from "./errors.ts";

/**
 * Normalises a tar entry name (drops `./` and trailing `/`) and refuses names
 * that would escape the image root: absolute paths and `..` segments.
 * Returns "" for the root entry itself.
 */
export function safeEntryName(name: string): string {
  if (name.startsWith("/")) throw new RegistryError(`tar entry ${JSON.stringify(name)} has an absolute path`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new RegistryError(`tar entry ${JSON.stringify(name)} contains ".."`);
  if (name.includes("\0")) throw new RegistryError(`tar entry name contains a NUL byte`);
  return parts.join("/");
}

const ALLOWED_TYPES = new Set(["file", "directory", "symlink", "link", "contiguous-file", "character-device", "block-device", "fifo"]);

/** Checks one layer entry header: safe name, safe hard-link target, a type an image layer may hold. */
export function checkLayerEntry(header: { name: string; type?: string | null; linkname?: string | null }): void {
  safeEntryName(header.name);
  const type = header.type ?? "file";
  if (!ALLOWED_TYPES.has(type)) throw new RegistryError(`tar entry ${JSON.stringify(header.name)} has unsupported type ${type}`);
  // Hard links name another entry of the same archive, so they follow the same rules; symlink targets resolve inside the container.
  if (type === "link" && header.linkname) safeEntryName(header.linkname);
}
