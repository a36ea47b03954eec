import { chmodSync, closeSync, constants, copyFileSync, mkdirSync, openSync, statSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import { UnsafeArchiveError } from "../errors.ts";
import { checkAllLinks, resolveLink } from "./link-resolve.ts";

export interface TreeLimits {
  /** Total bytes of file content the tree may hold. */
  maxBytes: number;
  /** Number of entries (files, dirs, links) the tree may hold. */
  maxEntries: number;
}

export const DEFAULT_TREE_LIMITS: TreeLimits = { maxBytes: 4 * 1024 ** 3, maxEntries: 500_000 };

const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/**
 * Cleans an archive entry name into a relative POSIX path, or throws: absolute
 * paths, drive letters, NUL bytes and `..` components (also behind a
 * backslash, as Windows-made zips spell them) are refused. "" means the root.
 */
export function cleanEntryName(name: string): string {
  if (name.includes("\0")) throw new UnsafeArchiveError(`entry name contains a NUL byte: ${JSON.stringify(name)}`);
  if (name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name)) {
    throw new UnsafeArchiveError(`entry has an absolute path: ${JSON.stringify(name)}`);
  }
  if (name.split(/[\\/]/).includes("..")) throw new UnsafeArchiveError(`entry path leaves the tree: ${JSON.stringify(name)}`);
  return name.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/**
 * Writes archive entries under `root` and nowhere else. The tree starts empty
 * and only this writer fills it, so it knows every directory and link it made:
 * no write may pass through a symlink, no symlink may point outside the tree,
 * files are opened O_NOFOLLOW, and size and entry limits are enforced as
 * content arrives (not as the archive claims).
 */
export class SafeTree {
  private readonly dirs = new Set<string>([""]);
  /** Every link made, path -> target: links are judged by resolving them through each other. */
  private readonly links = new Map<string, string>();
  private readonly files = new Set<string>();
  private bytes = 0;
  private entries = 0;

  constructor(readonly root: string, readonly limits: TreeLimits = DEFAULT_TREE_LIMITS) {
    mkdirSync(root, { recursive: true });
  }

  get totalBytes(): number {
    return this.bytes;
  }

  abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  /** Counts content bytes; throws once the tree would exceed its size limit. */
  addBytes(n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) throw new UnsafeArchiveError(`contents exceed the size limit of ${this.limits.maxBytes} bytes`);
  }

  private count(): void {
    if (++this.entries > this.limits.maxEntries) throw new UnsafeArchiveError(`more than ${this.limits.maxEntries} entries`);
  }

  private ensureParent(rel: string): void {
    const parts = rel.split("/");
    let cur = "";
    for (const part of parts.slice(0, -1)) {
      cur = cur ? `${cur}/${part}` : part;
      if (this.links.has(cur)) throw new UnsafeArchiveError(`entry ${JSON.stringify(rel)} passes through a symlink`);
      if (this.dirs.has(cur)) continue;
      if (this.files.has(cur)) throw new UnsafeArchiveError(`entry ${JSON.stringify(rel)} is inside a file`);
      mkdirSync(this.abs(cur), { mode: 0o755 });
      this.dirs.add(cur);
    }
  }

  /** Clears a previous entry of the same name (archives may repeat names); dirs may not be replaced. */
  private replace(rel: string): void {
    if (rel === "" || this.dirs.has(rel)) throw new UnsafeArchiveError(`entry ${JSON.stringify(rel)} replaces a directory`);
    if (this.links.has(rel) || this.files.has(rel)) {
      unlinkSync(this.abs(rel));
      this.links.delete(rel);
      this.files.delete(rel);
    }
  }

  dir(rel: string, mode = 0o755): void {
    if (rel === "") return;
    this.count();
    if (this.links.has(rel) || this.files.has(rel)) throw new UnsafeArchiveError(`entry ${JSON.stringify(rel)} is both a directory and a file`);
    this.ensureParent(rel);
    if (!this.dirs.has(rel)) {
      mkdirSync(this.abs(rel), { mode: 0o755 });
      this.dirs.add(rel);
    }
    chmodSync(this.abs(rel), (mode & 0o777) | 0o700);
  }

  /** Opens a new regular file for writing; the caller writes with `writeAll` and closes. */
  openFile(rel: string, mode = 0o644): number {
    this.count();
    this.ensureParent(rel);
    this.replace(rel);
    const fd = openSync(this.abs(rel), OPEN_NEW, (mode & 0o777) | 0o600);
    this.files.add(rel);
    return fd;
  }

  file(rel: string, data: Uint8Array, mode = 0o644): void {
    this.addBytes(data.byteLength);
    const fd = this.openFile(rel, mode);
    try {
      writeAll(fd, data);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A symlink whose target, resolved from its own directory the way the OS
   * will (through the tree's other links, component by component), stays
   * inside the tree. A later link can change where an earlier one leads
   * (`l1 -> s/..` before `s -> .`), so `seal()` judges them all again once
   * the archive is complete; unpackers call it before reporting success.
   */
  symlink(rel: string, target: string): void {
    this.count();
    if (rel === "") throw new UnsafeArchiveError(`symlink entry has no name`);
    if (target === "" || target.includes("\0") || target.length > 4096) throw new UnsafeArchiveError(`symlink ${JSON.stringify(rel)} has an invalid target`);
    if (target.startsWith("/")) throw new UnsafeArchiveError(`symlink ${JSON.stringify(rel)} points to an absolute path (${target})`);
    this.ensureParent(rel);
    this.replace(rel);
    this.links.set(rel, target);
    try {
      resolveLink(this.links, rel);
    } catch (err) {
      this.links.delete(rel);
      throw err;
    }
    symlinkSync(target, this.abs(rel));
    this.sealed = false;
  }

  private sealed = true;

  /** Judges every link again now that all are known; throws UnsafeArchiveError on the first that leaves the tree. */
  seal(): void {
    if (!this.sealed) checkAllLinks(this.links);
    this.sealed = true;
  }

  /** Copies a regular file from outside (a package directory) into the tree. */
  copyFrom(rel: string, srcFile: string, size: number, mode = 0o644): void {
    this.count();
    this.addBytes(size);
    this.ensureParent(rel);
    this.replace(rel);
    copyFileSync(srcFile, this.abs(rel), constants.COPYFILE_EXCL);
    chmodSync(this.abs(rel), (mode & 0o777) | 0o600);
    this.files.add(rel);
  }

  /** A tar hard link: copied from an earlier regular file of this tree. */
  hardlink(rel: string, targetName: string): void {
    const target = cleanEntryName(targetName);
    if (!this.files.has(target)) throw new UnsafeArchiveError(`hard link ${JSON.stringify(rel)} points to ${JSON.stringify(targetName)}, which is not an earlier file of the archive`);
    this.count();
    this.addBytes(statSync(this.abs(target)).size);
    this.ensureParent(rel);
    this.replace(rel);
    copyFileSync(this.abs(target), this.abs(rel), constants.COPYFILE_EXCL);
    this.files.add(rel);
  }
}

export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
}
