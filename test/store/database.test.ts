import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DB_FILE, migrate, migrations, openDatabase, openStore, schemaVersion, StoreError, type Migration } from "../../src/store/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

const latest = Math.max(...migrations.map((m) => m.version));

describe("openDatabase", () => {
  test("WAL, foreign keys, busy timeout, migrated to the latest version", () => {
    const db = openDatabase(tempDir());
    expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    expect((db.query("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys).toBe(1);
    expect((db.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout).toBe(5000);
    expect(schemaVersion(db)).toBe(latest);
    const applied = db.query("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[];
    expect(applied.map((r) => r.version)).toEqual(migrations.map((m) => m.version).sort((a, b) => a - b));
    db.close();
  });

  test("reopening applies nothing twice", () => {
    const dir = tempDir();
    openDatabase(dir).close();
    const db = openDatabase(dir);
    expect(schemaVersion(db)).toBe(latest);
    db.close();
  });

  test("refuses a database newer than the binary", () => {
    const dir = tempDir();
    const db = new Database(join(dir, DB_FILE));
    db.exec(`PRAGMA user_version = ${latest + 1}`);
    db.close();
    expect(() => openDatabase(dir)).toThrow(/newer than this eirini supports/);
  });

  test("a corrupt database file is one clear StoreError", () => {
    const dir = tempDir();
    writeFileSync(join(dir, DB_FILE), "this is not sqlite ".repeat(400));
    expect(() => openDatabase(dir)).toThrow(StoreError);
    expect(() => openDatabase(dir)).toThrow(/corrupt or not an eirini database/);
  });

  test("an unwritable or non-directory data dir is one clear StoreError", () => {
    const dir = tempDir();
    const file = join(dir, "file");
    writeFileSync(file, "x");
    expect(() => openDatabase(file)).toThrow(/is not a directory/);
    expect(() => openDatabase(join(file, "sub"))).toThrow(/cannot be created \(ENOTDIR\)/);
    if (process.getuid?.() !== 0) {
      const ro = tempDir();
      chmodSync(ro, 0o500);
      expect(() => openDatabase(ro)).toThrow(/not writable/);
    }
  });
});

describe("migrate", () => {
  const good: Migration[] = [
    { version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER);" },
    { version: 2, name: "b", sql: "CREATE TABLE b (y INTEGER);" },
  ];

  test("a failing migration rolls the whole batch back", () => {
    const db = new Database(":memory:");
    const bad = [...good, { version: 3, name: "bad", sql: "CREATE TABLE c (z INTEGER); SYNTAX ERROR;" }];
    expect(() => migrate(db, bad)).toThrow();
    expect(schemaVersion(db)).toBe(0);
    expect(db.query("SELECT name FROM sqlite_master WHERE name IN ('a','b','c')").all()).toEqual([]);
    expect(migrate(db, good)).toEqual({ from: 0, to: 2 });
  });

  test("later migrations apply on top of earlier ones", () => {
    const db = new Database(":memory:");
    migrate(db, good.slice(0, 1));
    expect(migrate(db, good)).toEqual({ from: 1, to: 2 });
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toEqual({ name: "b" });
  });

  test("duplicate versions are a programming error", () => {
    expect(() => migrate(new Database(":memory:"), [good[0]!, { ...good[1]!, version: 1 }])).toThrow(/share version 1/);
  });
});

describe("openStore", () => {
  test("an argon2id hash from before the switch to bcrypt still verifies, and is replaced by bcrypt on that login", async () => {
    const store = openStore(tempDir());
    await store.users.create("old", "placeholder", ["openid"]);
    const argon = await Bun.password.hash("old-pass", { algorithm: "argon2id" });
    store.db.query("UPDATE users SET password_hash = ? WHERE username = 'old'").run(argon);
    expect(await store.users.verify("old", "wrong")).toBeNull();
    expect((store.db.query("SELECT password_hash FROM users WHERE username = 'old'").get() as { password_hash: string }).password_hash).toBe(argon);
    expect(await store.users.verify("old", "old-pass")).not.toBeNull();
    const now = (store.db.query("SELECT password_hash FROM users WHERE username = 'old'").get() as { password_hash: string }).password_hash;
    expect(now.startsWith("$2b$")).toBe(true);
    expect(await store.users.verify("old", "old-pass")).not.toBeNull();
    store.close();
  });

  test("users are stored hashed and verified", async () => {
    const store = openStore(tempDir());
    await store.users.create("alice", "s3cret-pass", ["openid"]);
    const row = store.db.query("SELECT password_hash FROM users WHERE username = 'alice'").get() as { password_hash: string };
    expect(row.password_hash.startsWith("$2b$")).toBe(true);
    expect(row.password_hash).not.toContain("s3cret-pass");
    expect((await store.users.verify("alice", "s3cret-pass"))?.scopes).toEqual(["openid"]);
    expect(await store.users.verify("alice", "wrong")).toBeNull();
    expect(await store.users.verify("nobody", "x")).toBeNull();
    store.settings.set("k", "v1");
    store.settings.set("k", "v2");
    expect(store.settings.get("k")).toBe("v2");
    store.close();
    store.close();
  });
});
