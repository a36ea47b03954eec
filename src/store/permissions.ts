import { chmodSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { StoreError } from "./errors.ts";

/** Directories under the data dir whose every file holds secrets. */
const SECRET_DIRS = new Set(["secrets"]);

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Makes the data directory private whatever already exists (a ~/.eirini made
 * 0755 by `eirini login`, an eirini.db made 0644 by an older version): the
 * directory and its subdirectories 0700, its files 0600. Where that cannot be
 * done (another owner, a read-only mount) the appliance refuses to start with
 * one line saying what to fix. Only this process's user may read the tokens'
 * signing key, the database and the blobs.
 */
export function securePermissions(dataDir: string): void {
  const me = process.getuid?.() ?? -1;
  const fix = (path: string, want: number, what: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if (me >= 0 && st.uid !== me) {
      throw new StoreError(`${what} ${path} belongs to uid ${st.uid}, not to this user (uid ${me}): run eirini as its owner, or chown -R ${me} ${dataDir}`);
    }
    if ((st.mode & 0o777 & ~want) === 0) return;
    try {
      chmodSync(path, (st.mode & want) | (want & 0o700));
    } catch (err) {
      throw new StoreError(`${what} ${path} is mode ${octal(st.mode)} and cannot be made private (${(err as NodeJS.ErrnoException).code}): run chmod ${octal(want)} ${path}`, { cause: err });
    }
  };
  fix(dataDir, 0o700, "data directory");
  for (const ent of readdirSync(dataDir, { withFileTypes: true })) {
    const path = join(dataDir, ent.name);
    if (ent.isDirectory()) {
      fix(path, 0o700, "directory");
      if (SECRET_DIRS.has(ent.name)) {
        for (const s of readdirSync(path, { withFileTypes: true })) fix(join(path, s.name), s.isDirectory() ? 0o700 : 0o600, "secret");
      }
    } else if (ent.isFile()) {
      fix(path, 0o600, "file");
    }
  }
}
