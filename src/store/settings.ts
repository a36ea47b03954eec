import type { Database } from "bun:sqlite";

/** Small key/value settings the appliance keeps between starts. */
export class SettingsRepo {
  constructor(private readonly db: Database) {}

  get(key: string): string | null {
    const row = this.db.query("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | null;
    return row?.value ?? null;
  }

  set(key: string, value: string): void {
    this.db.query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }
}
