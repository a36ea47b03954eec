/**
 * State store contract: the appliance's memory on disk under the data
 * directory. `openStore(dataDir)` opens SQLite (WAL, foreign keys, busy
 * timeout, embedded numbered migrations) and the content-addressed blob store,
 * and hands out one small repository per aggregate. One writer: the appliance
 * process. Secrets live beside it with mode 0600.
 */
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { AppLogStore } from "./app-logs.ts";
import { BlobStore } from "./blobs.ts";
import { openDatabase, prepareDataDir } from "./database.ts";
import { securePermissions } from "./permissions.ts";
import { SettingsRepo } from "./settings.ts";
import { TokenStore } from "./tokens.ts";
import { UserRepo } from "./users.ts";

export { BlobStore, assertDigest, type PutOptions, type PutResult } from "./blobs.ts";
export { StoreError, DigestMismatchError, InvalidDigestError, SizeLimitError } from "./errors.ts";
export { openDatabase, prepareDataDir, DB_FILE } from "./database.ts";
export { securePermissions } from "./permissions.ts";
export { migrate, schemaVersion, type Migration } from "./migrate.ts";
export { migrations } from "./migrations/index.ts";
export { writeFileAtomic, fsyncDir } from "./atomic-file.ts";
export { loadOrCreateSecret, randomSecret, randomPassword } from "./secrets.ts";
export { UserRepo, LoginPolicy, LoginRefused, type User } from "./users.ts";
export { TokenStore, type RefreshUse } from "./tokens.ts";
export { SettingsRepo } from "./settings.ts";
export { AppLogStore, type LogQuery, type StoredLogLine, type AppLogStoreOptions } from "./app-logs.ts";

export interface Store {
  readonly dataDir: string;
  readonly db: Database;
  readonly blobs: BlobStore;
  readonly users: UserRepo;
  readonly settings: SettingsRepo;
  /** The UAA's refresh tokens and revoked sessions. */
  readonly tokens: TokenStore;
  /** App and staging log lines (log-cache), bounded per app, with live subscribers. */
  readonly logs: AppLogStore;
  close(): void;
}

/** Opens the database and blob store in `dataDir`; throws StoreError with one clear line. */
export function openStore(dataDir: string): Store {
  // Private before anything new is written into it, and again once the database files exist.
  prepareDataDir(dataDir);
  securePermissions(dataDir);
  const db = openDatabase(dataDir);
  const blobs = new BlobStore(join(dataDir, "blobs"));
  // One writer: whatever is in blobs/tmp now was left by a process that died mid-write.
  blobs.sweepTemp();
  try {
    securePermissions(dataDir);
  } catch (err) {
    db.close();
    throw err;
  }
  const logs = new AppLogStore(db);
  let closed = false;
  return {
    dataDir,
    db,
    blobs,
    users: new UserRepo(db),
    settings: new SettingsRepo(db),
    tokens: new TokenStore(db),
    logs,
    close() {
      if (closed) return;
      closed = true;
      logs.close();
      db.close();
    },
  };
}
