import type { Database } from "bun:sqlite";
import { StoreError } from "./errors.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Highest schema version recorded in the database (0 for a new one). */
export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/**
 * Applies pending migrations in one transaction and records the schema version.
 * A crash mid-way rolls the whole batch back, so the next start retries cleanly.
 * Refuses a database written by a newer binary.
 */
export function migrate(db: Database, migrations: readonly Migration[]): { from: number; to: number } {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is not numbered 1..n (found ${m.version} at position ${i + 1})`);
  });
  const latest = sorted.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new StoreError(`database schema version ${from} is newer than this eirini supports (${latest}); use a newer eirini binary`);
  }
  if (from === latest) return { from, to: latest };
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (const m of sorted.slice(from)) {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }
    db.exec(`PRAGMA user_version = ${latest}`);
  }).immediate();
  return { from, to: latest };
}
