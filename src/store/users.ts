import type { Database } from "bun:sqlite";
import { LoginPolicy, LoginRefused } from "./login-policy.ts";

export { LoginPolicy, LoginRefused } from "./login-policy.ts";

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
  /** Lockout, bounded hash queue and per-client fairness for every password check (UAA, registry Basic, /v2/token). */
  readonly policy: LoginPolicy;

  constructor(private readonly db: Database, policy?: LoginPolicy) {
    this.policy = policy ?? new LoginPolicy();
    // Made now, so the first unknown-user login costs one hash, like any other login, not two.
    void dummyHash();
  }

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
    const hash = await this.policy.hash("internal", () => hashPassword(password));
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
    const hash = await this.policy.hash("internal", () => hashPassword(password));
    return this.db.query("UPDATE users SET password_hash = ? WHERE guid = ?").run(hash, guid).changes > 0;
  }

  /** Deletes the user; their tokens stop working at once (authenticate looks the user up on every request). */
  remove(guid: string): boolean {
    return this.db.query("DELETE FROM users WHERE guid = ?").run(guid).changes > 0;
  }

  /**
   * The user when the password matches, else null (same cost either way).
   * Throws LoginRefused when the user is locked or the client has too many
   * checks waiting: nothing is hashed then. `client` identifies the caller
   * (its address) for the hash queue's fairness.
   */
  async verify(username: string, password: string, client = "unknown"): Promise<User | null> {
    this.policy.assertNotLocked(username);
    const row = this.db.query("SELECT * FROM users WHERE username = ?").get(username) as UserRow | null;
    const ok = await this.policy.hash(client, async () => {
      if (!row) {
        await Bun.password.verify(password, await dummyHash());
        return false;
      }
      return Bun.password.verify(password, row.password_hash);
    });
    if (ok && row) {
      // A right password that finished after parallel failures locked the user is still refused.
      this.policy.assertNotLocked(username);
      this.policy.recordSuccess(username);
      // Hashes made before the switch to bcrypt (argon2id, ~64 MB per check) are replaced on the next good login.
      if (!row.password_hash.startsWith("$2")) {
        const upgraded = await this.policy.hash("internal", () => hashPassword(password));
        this.db.query("UPDATE users SET password_hash = ? WHERE guid = ? AND password_hash = ?").run(upgraded, row.guid, row.password_hash);
      }
      return toUser(row);
    }
    this.policy.recordFailure(username);
    return null;
  }

  /** Like verify, but a refusal (locked, busy) is null too: for callers with one way to say no. */
  async verifyOrNull(username: string, password: string, client = "unknown"): Promise<User | null> {
    try {
      return await this.verify(username, password, client);
    } catch (err) {
      if (err instanceof LoginRefused) return null;
      throw err;
    }
  }
}

/**
 * bcrypt with cost 10, as UAA stores passwords: slow enough against guessing, and a check holds a few
 * KB, where argon2id's default holds 64 MB for its length. A flood of logins therefore costs CPU (bounded
 * by the hash queue in login-policy.ts), not memory: 50 concurrent bad logins measured ~300 MB of RSS
 * under load with argon2id (over the 250 MB bar of issue 13) and stay near the idle figure with bcrypt.
 * (Bun pre-hashes passwords over bcrypt's 72-byte limit, so long passwords keep all their bytes.)
 */
function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: "bcrypt", cost: 10 });
}

// Verifying against a throwaway hash keeps unknown-user logins as slow as wrong-password ones.
let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  return (dummy ??= hashPassword(crypto.randomUUID()));
}

function toUser(row: UserRow): User {
  return { guid: row.guid, username: row.username, scopes: JSON.parse(row.scopes) as string[], created_at: row.created_at };
}
