import type { Database } from "bun:sqlite";

export interface User {
  guid: string;
  username: string;
  scopes: string[];
  created_at: string;
}

interface UserRow {
  guid: string;
  username: string;
  password_hash: string;
  scopes: string;
  created_at: string;
}

/** Users and their hashed passwords; plaintext passwords never reach the database. */
export class UserRepo {
  constructor(private readonly db: Database) {}

  count(): number {
    return (this.db.query("SELECT COUNT(*) AS n FROM users").get() as { n: number }).n;
  }

  find(username: string): User | null {
    const row = this.db.query("SELECT * FROM users WHERE username = ?").get(username) as UserRow | null;
    return row ? toUser(row) : null;
  }

  findByGuid(guid: string): User | null {
    const row = this.db.query("SELECT * FROM users WHERE guid = ?").get(guid) as UserRow | null;
    return row ? toUser(row) : null;
  }

  async create(username: string, password: string, scopes: string[]): Promise<User> {
    const hash = await Bun.password.hash(password, { algorithm: "argon2id" });
    const user: User = { guid: crypto.randomUUID(), username, scopes, created_at: new Date().toISOString() };
    this.db
      .query("INSERT INTO users (guid, username, password_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(user.guid, username, hash, JSON.stringify(scopes), user.created_at);
    return user;
  }

  /** Every user, oldest first (SCIM /Users list). */
  list(): User[] {
    return (this.db.query("SELECT * FROM users ORDER BY created_at, rowid").all() as UserRow[]).map(toUser);
  }

  /** Replaces the password hash (same slow hash as create). False when the user is gone. */
  async setPassword(guid: string, password: string): Promise<boolean> {
    const hash = await Bun.password.hash(password, { algorithm: "argon2id" });
    return this.db.query("UPDATE users SET password_hash = ? WHERE guid = ?").run(hash, guid).changes > 0;
  }

  /** Deletes the user; their tokens stop working at once (authenticate looks the user up on every request). */
  remove(guid: string): boolean {
    return this.db.query("DELETE FROM users WHERE guid = ?").run(guid).changes > 0;
  }

  /** The user when the password matches, else null (same cost either way). */
  async verify(username: string, password: string): Promise<User | null> {
    const row = this.db.query("SELECT * FROM users WHERE username = ?").get(username) as UserRow | null;
    if (!row) {
      await Bun.password.verify(password, await dummyHash());
      return null;
    }
    return (await Bun.password.verify(password, row.password_hash)) ? toUser(row) : null;
  }
}

// Verifying against a throwaway hash keeps unknown-user logins as slow as wrong-password ones.
let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  return (dummy ??= Bun.password.hash(crypto.randomUUID(), { algorithm: "argon2id" }));
}

function toUser(row: UserRow): User {
  return { guid: row.guid, username: row.username, scopes: JSON.parse(row.scopes) as string[], created_at: row.created_at };
}
