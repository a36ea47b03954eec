import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { BlobStore, writeFileAtomic } from "../../store/index.ts";
import { RuntimeError } from "./errors.ts";
import { pickVersion } from "./versions.ts";

/** One runtime dependency as the store records it (what CF buildpack manifests call a dependency). */
export const RuntimeDependency = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "a runtime name is lower-case letters, digits, '.', '_' or '-'"),
  version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,62}$/, "a version is letters, digits, '.', '+' or '-'"),
  stack: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "a stack name is letters, digits, '.', '_' or '-'"),
  /** Hex sha256 of the archive (.tgz) that holds the runtime. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lower-case hex digits"),
  size: z.number().int().nonnegative(),
  added_at: z.string(),
});
export type RuntimeDependency = z.infer<typeof RuntimeDependency>;

export type RuntimeKey = Pick<RuntimeDependency, "name" | "version" | "stack">;

const keyFile = (k: RuntimeKey) => `${k.name}@${k.version}@${k.stack}.json`;

/**
 * The runtime dependency store under `<dataDir>/runtimes`: archives are
 * content-addressed blobs (`sha256/ab/<hex>`, verified while written, kept
 * apart from app blobs so no other GC touches them), and each dependency is a
 * small JSON record in `deps/` naming its name, version, stack and checksum.
 * One file per dependency, written atomically, so the CLI and a running
 * appliance can add runtimes side by side without a shared index to race on.
 */
export class RuntimeStore {
  readonly blobs: BlobStore;
  private readonly depsDir: string;

  constructor(readonly root: string) {
    this.blobs = new BlobStore(root);
    this.depsDir = join(root, "deps");
    mkdirSync(this.depsDir, { recursive: true });
  }

  /** Every dependency, by name, then stack, then version (newest first). */
  list(): RuntimeDependency[] {
    const out: RuntimeDependency[] = [];
    for (const f of readdirSync(this.depsDir)) {
      if (!f.endsWith(".json")) continue;
      try {
        const dep = RuntimeDependency.parse(JSON.parse(readFileSync(join(this.depsDir, f), "utf8")));
        if (this.blobs.has(`sha256:${dep.sha256}`)) out.push(dep);
      } catch {
        // A record that does not parse is not a usable runtime; `add` overwrites it.
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.stack.localeCompare(b.stack) || b.version.localeCompare(a.version, undefined, { numeric: true }));
  }

  get(k: RuntimeKey): RuntimeDependency | null {
    return this.list().find((d) => d.name === k.name && d.version === k.version && d.stack === k.stack) ?? null;
  }

  /** The archive's path on disk. */
  path(dep: Pick<RuntimeDependency, "sha256">): string {
    return this.blobs.path(`sha256:${dep.sha256}`);
  }

  /**
   * Adds (or replaces) one dependency from a complete file, checking its
   * sha256 against `expectedSha256` when given. Nothing is recorded when the
   * check fails.
   */
  async addFile(k: RuntimeKey, file: string, expectedSha256?: string): Promise<RuntimeDependency> {
    const parsedKey = RuntimeDependency.pick({ name: true, version: true, stack: true }).safeParse(k);
    if (!parsedKey.success) throw new RuntimeError("InvalidRuntime", `runtime ${k.name} ${k.version}: ${parsedKey.error.issues[0]!.message}`);
    if (expectedSha256 !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha256)) throw new RuntimeError("InvalidRuntime", `runtime ${k.name} ${k.version}: sha256 must be 64 lower-case hex digits`);
    if (!existsSync(file)) throw new RuntimeError("InvalidRuntime", `runtime ${k.name} ${k.version}: ${file} does not exist`);
    const stream = Bun.file(file).stream() as unknown as AsyncIterable<Uint8Array>;
    let put;
    try {
      put = await this.blobs.put(stream, expectedSha256 ? { expectedDigest: `sha256:${expectedSha256}` } : {});
    } catch (err) {
      throw new RuntimeError("ChecksumMismatch", `runtime ${k.name} ${k.version} (${k.stack}): ${(err as Error).message}`, { cause: err });
    }
    const dep: RuntimeDependency = { ...parsedKey.data, sha256: put.digest.slice("sha256:".length), size: put.size, added_at: new Date().toISOString() };
    writeFileAtomic(join(this.depsDir, keyFile(dep)), JSON.stringify(dep, null, 2) + "\n");
    return dep;
  }

  /** Removes a dependency's record (the archive goes too when no other record uses it). */
  delete(k: RuntimeKey): boolean {
    const dep = this.get(k);
    if (!dep) return false;
    rmSync(join(this.depsDir, keyFile(dep)), { force: true });
    if (!this.list().some((d) => d.sha256 === dep.sha256)) this.blobs.delete(`sha256:${dep.sha256}`);
    return true;
  }

  /**
   * The newest version of `name` for `stack` that satisfies `constraint`
   * (npm semver ranges: `18.x`, `^3.11`, `>=1.20 <1.22`, ...; empty = the
   * newest), or null.
   */
  resolve(name: string, constraint: string, stack: string): RuntimeDependency | null {
    const candidates = this.list().filter((d) => d.name === name && d.stack === stack);
    const version = pickVersion(candidates.map((d) => d.version), constraint);
    return version === null ? null : (candidates.find((d) => d.version === version) ?? null);
  }

  /** The versions there are of `name` for `stack` (for error messages). */
  versions(name: string, stack: string): string[] {
    return this.list()
      .filter((d) => d.name === name && d.stack === stack)
      .map((d) => d.version);
  }
}
