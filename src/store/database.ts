import { Database } from "bun:sqlite";
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { StoreError } from "./errors.ts";
import { migrate, type Migration } from "./migrate.ts";
import { migrations as builtIn } from "./migrations/index.ts";

export const DB_FILE = "eirini.db";

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}

/** Creates the data directory if needed and checks we can write to it. */
export function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (errCode(err) === "EEXIST") throw new StoreError(`data directory ${dataDir} is not a directory`, { cause: err });
    throw new StoreError(`data directory ${dataDir} cannot be created (${errCode(err)})`, { cause: err });
  }
  try {
    if (!statSync(dataDir).isDirectory()) throw new StoreError(`data directory ${dataDir} is not a directory`);
    accessSync(dataDir, constants.W_OK | constants.R_OK);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`data directory ${dataDir} is not writable (${errCode(err)})`, { cause: err });
  }
}

/**
 * Opens (creating if needed) the appliance database: WAL, foreign keys,
 * busy timeout, migrations applied. Errors come out as one-line StoreErrors.
 */
export function openDatabase(dataDir: string, migrations: readonly Migration[] = builtIn): Database {
  prepareDataDir(dataDir);
  const file = join(dataDir, DB_FILE);
  let db: Database;
  try {
    db = new Database(file, { create: true, strict: true });
  } catch (err) {
    throw new StoreError(`database ${file} cannot be opened (${errCode(err)})`, { cause: err });
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL in WAL mode keeps every committed transaction across a process crash (kill -9).
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db, migrations);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    const msg = (err as Error).message ?? String(err);
    if (/not a database|malformed|corrupt/i.test(msg)) {
      throw new StoreError(`database ${file} is corrupt or not an eirini database (${msg}); move it aside to start fresh`, { cause: err });
    }
    if (/readonly|read-only|permission|unable to open/i.test(msg)) {
      throw new StoreError(`database ${file} is not writable (${msg})`, { cause: err });
    }
    throw new StoreError(`database ${file} cannot be opened (${msg})`, { cause: err });
  }
  return db;
}
