import type { Database } from "bun:sqlite";
import { failpoint } from "../config/index.ts";
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
 * Applies every migration not yet recorded, in version order, in one
 * transaction, and records the schema version. A crash mid-way rolls the whole
 * batch back, so the next start retries cleanly. Refuses a database that holds
 * a migration this binary does not know (written by a newer eirini).
 */
export function migrate(db: Database, migrations: readonly Migration[]): { from: number; to: number } {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (i > 0 && sorted[i - 1]!.version === m.version) throw new Error(`two migrations share version ${m.version}`);
  });
  const latest = sorted.at(-1)?.version ?? 0;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new StoreError(`database schema version ${from} is newer than this eirini supports (${latest}); use a newer eirini binary`);
  }
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const applied = new Set((db.query("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
  const pending = sorted.filter((m) => !applied.has(m.version));
  if (pending.length === 0) return { from, to: from };
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (const m of pending) {
      if (m.sql.trim()) db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      // Mid-way through the batch, inside the open transaction: what a crash there must roll back.
      if (m === pending[Math.floor(pending.length / 2)]) failpoint("store:migrating");
    }
    db.exec(`PRAGMA user_version = ${latest}`);
  }).immediate();
  return { from, to: latest };
}
