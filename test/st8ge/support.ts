import { afterAll, expect } from "bun:test";
import { StagingError } from "../../src/st8ge/index.ts";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { zipSync, type Zippable } from "fflate";
import { pack as tarPack } from "tar-stream";
import type { LogLine, LogLineInput, LogSink } from "../../src/model/index.ts";

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed after the test file. */
export function tempDir(prefix = "st8ge-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A LogSink that keeps lines in memory. */
export function memorySink(): LogSink & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, append: (l: LogLineInput) => void lines.push(l as LogLine) };
}

/** Writes files (path -> text) under `root`; paths under bin/ are executable. */
export function writeTree(root: string, files: Record<string, string>): string {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    if (rel.startsWith("bin/")) chmodSync(p, 0o755);
  }
  return root;
}

/** A shell-script buildpack directory with the given bin/ scripts (bodies get a #!/bin/sh line). */
export function shellBuildpack(root: string, scripts: Partial<Record<"detect" | "supply" | "finalize" | "compile" | "release", string>>): string {
  const files: Record<string, string> = {};
  for (const [k, body] of Object.entries(scripts)) files[`bin/${k}`] = `#!/bin/sh\n${body}\n`;
  return writeTree(root, files);
}

/** Zips with the real `zip` tool (Info-ZIP, keeps modes and symlinks), as an admin would. */
export function zipWithTool(dir: string, out: string): string {
  const r = Bun.spawnSync(["zip", "-qry", out, "."], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`zip failed: ${r.stderr.toString()}`);
  return out;
}

export interface RawZipEntry {
  name: string;
  data?: string | Uint8Array;
  /** Unix mode including type bits, e.g. 0o100644 or 0o120777 for a symlink. */
  mode?: number;
  level?: 0 | 6;
}

/** Builds a zip from raw entries (any names, on purpose). */
export function rawZip(entries: RawZipEntry[]): Uint8Array {
  const z: Zippable = {};
  for (const e of entries) {
    const data = typeof e.data === "string" ? new TextEncoder().encode(e.data) : (e.data ?? new Uint8Array());
    z[e.name] = [data, { os: 3, attrs: ((e.mode ?? 0o100644) << 16) >>> 0, level: e.level ?? 6 }];
  }
  return zipSync(z);
}

/** Rewrites the declared uncompressed size of the n-th entry (central and local headers): a lying zip. */
export function lieAboutSize(zip: Uint8Array, n: number, size: number): Uint8Array {
  const buf = Buffer.from(zip);
  let seen = 0;
  for (let i = 0; i + 4 <= buf.length; i++) {
    if (buf.readUInt32LE(i) === 0x02014b50) {
      if (seen++ === n) {
        buf.writeUInt32LE(size, i + 24);
        buf.writeUInt32LE(size, buf.readUInt32LE(i + 42) + 22);
        return buf;
      }
    }
  }
  throw new Error("entry not found");
}

export interface RawTarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device";
  data?: string;
  linkname?: string;
  mode?: number;
}

/** Builds a tar from raw entries (any names, on purpose). */
export async function rawTar(entries: RawTarEntry[]): Promise<Uint8Array> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    await new Promise<void>((res, rej) =>
      p.entry({ name: e.name, type, mode: e.mode ?? (type === "directory" ? 0o755 : 0o644), ...(e.linkname ? { linkname: e.linkname } : {}) } as never, type === "file" ? (e.data ?? "") : (undefined as never), (err) => (err ? rej(err) : res())),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Entries under a dir (recursive), for "nothing left behind" checks. */
export function listTree(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
}

/** Polls `cond` until true or the bound passes (never a fixed sleep). */
export async function until(cond: () => boolean | Promise<boolean>, boundMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether a process still runs; a zombie (killed, not yet reaped by init) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Awaits a staging that must fail and returns its StagingError. */
export async function failure(p: Promise<unknown>): Promise<StagingError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StagingError);
    return err as StagingError;
  }
  throw new Error("staging succeeded but was expected to fail");
}
